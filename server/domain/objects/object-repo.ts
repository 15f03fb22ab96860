import type { Knex } from 'knex';

export interface StoredObject {
  id: number;
  owner_id: number;
  objecttype: string;
  data: Record<string, unknown>;
  version: number;
  created_at: Date;
  changed_at: Date;
}

const COLUMNS = ['id', 'owner_id', 'objecttype', 'data', 'version', 'created_at', 'changed_at'] as const;
const normalize = (row: StoredObject): StoredObject => ({ ...row, id: Number(row.id), owner_id: Number(row.owner_id) });

/** Every statement is scoped by owner and object type: another user's object is not found, never revealed. */
export async function insertObjects(
  db: Knex,
  ownerId: number,
  objecttype: string,
  items: Record<string, unknown>[],
): Promise<StoredObject[]> {
  if (items.length === 0) return [];
  const rows = (await db('objects')
    .insert(items.map((data) => ({ owner_id: ownerId, objecttype, data: JSON.stringify(data) })))
    .returning(COLUMNS)) as StoredObject[];
  return rows.map(normalize);
}

/**
 * Replaces the fields of one object when `expectedVersion` is its current version; the version increments and
 * `changed_at` moves (incremental exports pick it up). Null when no row matched (missing or version conflict).
 */
export async function updateObject(
  db: Knex,
  ownerId: number,
  objecttype: string,
  id: number,
  expectedVersion: number,
  data: Record<string, unknown>,
): Promise<StoredObject | null> {
  const [row] = (await db('objects')
    .where({ id, owner_id: ownerId, objecttype, version: expectedVersion })
    .update({ data: JSON.stringify(data), version: db.raw('version + 1'), changed_at: db.fn.now() })
    .returning(COLUMNS)) as StoredObject[];
  return row ? normalize(row) : null;
}

export async function findObject(
  db: Knex,
  ownerId: number,
  objecttype: string,
  id: number,
  forUpdate = false,
): Promise<StoredObject | null> {
  const q = db('objects').where({ id, owner_id: ownerId, objecttype }).first(COLUMNS);
  if (forUpdate) q.forUpdate();
  const row = (await q) as StoredObject | undefined;
  return row ? normalize(row) : null;
}

/** Deletes the object and remembers the deletion for incremental exports' deleted.json (R-OUT-4). */
export async function deleteObject(trx: Knex.Transaction, ownerId: number, objecttype: string, id: number) {
  const [row] = (await trx('objects').where({ id, owner_id: ownerId, objecttype }).delete().returning(COLUMNS)) as StoredObject[];
  if (!row) return null;
  await trx('object_tombstones').insert({ owner_id: ownerId, objecttype, object_id: id });
  return normalize(row);
}
