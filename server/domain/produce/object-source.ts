import type { Knex } from 'knex';
import { applySearchFilter, applySearchOrder, type SearchDefinition } from '../search/index.js';
import type { ExportedObject } from './types.js';

/**
 * The database side of a run (R-ENG-6): the export's objects, read in batches through a server-side cursor inside
 * one REPEATABLE READ transaction, so every pass (CSV needs two) and every count sees the same snapshot, and memory
 * holds one batch at a time whatever the export's size. A SQL cursor (DECLARE/FETCH) rather than a streaming query:
 * each FETCH is an ordinary statement, so stopping between batches leaves the connection idle and rollback-ready.
 */

/** One row as fetched: timestamps already ISO text and `data` unparsed, so the JSON fast path can splice it. */
export interface RawObjectRow {
  id: number;
  objecttype: string;
  version: number;
  created_at: string;
  changed_at: string;
  data: string;
}

// Timestamps leave PostgreSQL as text in UTC (the transaction sets `timezone = 'UTC'`) and become ISO 8601 in JS:
// to_char() in SQL and Date parsing in the driver both cost more per row than the whole JSON line does.
const ROW_COLUMNS = [
  'objects.id',
  'objects.objecttype',
  'objects.version',
  'objects.created_at::text as created_at',
  'objects.changed_at::text as changed_at',
  'objects.data::text as data',
];
/** The CSV column pass needs only the object type and the fields. */
const SHAPE_COLUMNS = ['objects.objecttype', 'objects.data::text as data'];

/** `2026-11-22 10:00:00.123456+00` → `2026-11-22T10:00:00.123Z` (milliseconds, like Date#toISOString). */
export function isoFromPgUtc(text: string): string {
  const end = text.length - 3; // "+00"
  const fraction = text.charCodeAt(19) === 46 ? text.slice(20, Math.min(end, 23)) : '';
  return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction.padEnd(3, '0')}Z`;
}

export interface SourceOptions {
  ownerId: number;
  search: SearchDefinition;
  /** Incremental exports: only objects created or changed at or after this instant. */
  since: Date | null;
}

export const toExportedObject = (row: RawObjectRow): ExportedObject => ({
  _id: Number(row.id),
  _objecttype: row.objecttype,
  _version: row.version,
  _created_at: row.created_at,
  _changed_at: row.changed_at,
  data: JSON.parse(row.data) as Record<string, unknown>,
});

/** Converts the fetched timestamps in place; rows of one bulk write share them, so the last result is reused. */
function convertTimestamps(rows: RawObjectRow[]): void {
  let lastIn = '';
  let lastOut = '';
  const iso = (text: string) => {
    if (text !== lastIn) {
      lastIn = text;
      lastOut = isoFromPgUtc(text);
    }
    return lastOut;
  };
  for (const row of rows) {
    row.created_at = iso(row.created_at);
    row.changed_at = iso(row.changed_at);
  }
}

export class ObjectSource {
  private cursors = 0;

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly options: SourceOptions,
  ) {}

  private filtered(qb: Knex.QueryBuilder): Knex.QueryBuilder {
    applySearchFilter(qb, this.options.ownerId, this.options.search);
    if (this.options.since) qb.where('objects.changed_at', '>=', this.options.since);
    return qb;
  }

  /** Number of objects the run will export (the search's own limit/offset applied). */
  async count(): Promise<number> {
    const rows = (await this.filtered(this.trx('objects').count({ count: '*' }))) as { count: number | string }[];
    let n = Number(rows[0].count);
    const { limit, offset } = this.options.search;
    if (offset) n = Math.max(0, n - offset);
    if (limit !== undefined) n = Math.min(n, limit);
    return n;
  }

  /**
   * One pass over the objects in the search's sort order (id as tiebreak), `size` rows per batch. With
   * `shapeOnly` the rows carry only `objecttype` and `data` (the CSV column pass).
   */
  async *batches(size: number, signal: AbortSignal, shapeOnly = false): AsyncGenerator<RawObjectRow[]> {
    const columns = shapeOnly ? SHAPE_COLUMNS : ROW_COLUMNS;
    const qb = this.filtered(this.trx('objects').select(this.trx.raw(columns.join(', '))));
    applySearchOrder(qb, this.options.search);
    const { limit, offset } = this.options.search;
    if (limit !== undefined) qb.limit(limit);
    if (offset) qb.offset(offset);
    // The name is ours (a counter), never input; the query goes in as a bound sub-query.
    const name = `export_objects_${++this.cursors}`;
    await this.trx.raw(`declare ${name} no scroll cursor for ?`, [qb]);
    // The next FETCH is sent before the current batch is handed out, so PostgreSQL reads and serializes it while
    // the writers work (the two run on different cores). A stop or error leaves at most that one FETCH in flight:
    // the connection still runs its statements in order, so the CLOSE below (or the rollback) simply follows it.
    const rowsPerFetch = Math.max(1, Math.floor(size));
    const fetch = (): Promise<{ rows: RawObjectRow[] }> => {
      const p = Promise.resolve(
        this.trx.raw(`fetch ${rowsPerFetch} from ${name}`) as Promise<{ rows: RawObjectRow[] }>,
      );
      p.catch(() => {}); // awaited below, or abandoned on stop; never an unhandled rejection
      return p;
    };
    try {
      signal.throwIfAborted();
      let next = fetch();
      for (;;) {
        const { rows } = await next;
        if (rows.length === 0) return;
        const more = rows.length >= rowsPerFetch;
        if (more) {
          signal.throwIfAborted();
          next = fetch();
        }
        if (!shapeOnly) convertTimestamps(rows);
        yield rows;
        if (!more) return;
      }
    } finally {
      // After an error the transaction is aborted and rolled back anyway; closing is only needed on success.
      await this.trx.raw(`close ${name}`).catch(() => {});
    }
  }

  /** Tombstones since `since` (objecttypes of the search only), for deleted.json. */
  async *deletions(since: Date, size: number): AsyncGenerator<{ objecttype: string; object_id: number; deleted_at: Date }[]> {
    let after = 0;
    for (;;) {
      const q = this.trx('object_tombstones')
        .select('id', 'objecttype', 'object_id', 'deleted_at')
        .where({ owner_id: this.options.ownerId })
        .where('deleted_at', '>=', since)
        .where('id', '>', after)
        .orderBy('id')
        .limit(size);
      if (this.options.search.objecttypes.length > 0) q.whereIn('objecttype', this.options.search.objecttypes);
      const rows = (await q) as { id: number; objecttype: string; object_id: number; deleted_at: Date }[];
      if (rows.length === 0) return;
      yield rows;
      after = Number(rows[rows.length - 1].id);
      if (rows.length < size) return;
    }
  }
}
