import type { Knex } from 'knex';
import { withTransaction } from '../../infra/db/transaction.js';
import { notFound, userError } from '../errors.js';
import type { ObjectInput } from './object-input.js';
import { deleteObject, findObject, insertObjects, type StoredObject, updateObject } from './object-repo.js';

/** One owner's objects (R-DATA-1). Every method takes the owner; another user's object is a 404. */
export class ObjectService {
  constructor(private readonly db: Knex) {}

  /**
   * Creates and updates in one transaction, answering in request order: all or nothing. An update must carry
   * `_version` = current + 1 (400 error.user.version_conflict otherwise); an unknown id, an id of another object type
   * or of another user is a 404.
   */
  async save(ownerId: number, objecttype: string, inputs: ObjectInput[]): Promise<StoredObject[]> {
    return withTransaction(this.db, async (trx) => {
      const result: StoredObject[] = new Array(inputs.length);
      const creates = inputs.filter((i) => i.id === null);
      for (const input of creates) {
        if (input.version !== null && input.version !== 1) throw versionConflict(input, 0);
      }
      const created = await insertObjects(trx, ownerId, objecttype, creates.map((i) => i.data));
      creates.forEach((input, k) => {
        result[input.index] = created[k];
      });
      for (const input of inputs) {
        if (input.id === null) continue;
        const expected = input.version! - 1;
        const updated = await updateObject(trx, ownerId, objecttype, input.id, expected, input.data);
        if (updated) {
          result[input.index] = updated;
          continue;
        }
        const current = await findObject(trx, ownerId, objecttype, input.id);
        if (!current) throw notFound(objecttype, input.id);
        throw versionConflict(input, current.version);
      }
      return result;
    });
  }

  async get(ownerId: number, objecttype: string, id: number): Promise<StoredObject> {
    const row = await findObject(this.db, ownerId, objecttype, id);
    if (!row) throw notFound(objecttype, id);
    return row;
  }

  async remove(ownerId: number, objecttype: string, id: number): Promise<StoredObject> {
    const row = await withTransaction(this.db, (trx) => deleteObject(trx, ownerId, objecttype, id));
    if (!row) throw notFound(objecttype, id);
    return row;
  }
}

const versionConflict = (input: ObjectInput, current: number) =>
  userError(400, 'version_conflict', `_version must be ${current + 1} (the current version plus one)`, {
    path: `[${input.index}]._version`,
    id: input.id,
    current_version: current,
  });
