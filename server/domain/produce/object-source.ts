import type { Knex } from 'knex';
import { collectGarbage } from '../../infra/memory.js';
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

  /** The search's rows in the search's order (id as tiebreak), with its own limit/offset, selecting `columns`. */
  private ordered(columns: string): Knex.QueryBuilder {
    const qb = this.filtered(this.trx('objects').select(this.trx.raw(columns)));
    applySearchOrder(qb, this.options.search);
    const { limit, offset } = this.options.search;
    if (limit !== undefined) qb.limit(limit);
    if (offset) qb.offset(offset);
    return qb;
  }

  /**
   * One pass over the objects in the search's sort order (id as tiebreak), at most `size` rows and `maxBytes` of
   * `data` per batch (a single bigger object comes alone; OBJECT_MAX_BYTES bounds it). With `shapeOnly` the rows
   * carry only `objecttype` and `data` (the CSV column pass).
   *
   * Counting rows alone let 20 objects of 30 MB each into one batch (+700 MB). A row's size is only known once it is
   * fetched, too late, so a second cursor over the same ordered query (same snapshot, same order) reads the sizes
   * ahead (`data_bytes`, 4 bytes a row, a few thousand per FETCH), and each FETCH of objects asks for exactly as many
   * rows as fit. For small objects the count decides and the batches stay as they were.
   */
  async *batches(size: number, signal: AbortSignal, shapeOnly = false, maxBytes = Number.POSITIVE_INFINITY): AsyncGenerator<RawObjectRow[]> {
    const columns = shapeOnly ? SHAPE_COLUMNS : ROW_COLUMNS;
    // The names are ours (a counter), never input; the queries go in as bound sub-queries.
    const n = ++this.cursors;
    const name = `export_objects_${n}`;
    const sizesName = `export_sizes_${n}`;
    await this.trx.raw(`declare ${name} no scroll cursor for ?`, [this.ordered(columns.join(', '))]);
    let rowsPerFetch = Math.max(1, Math.floor(size));
    let sizes: BatchPlanner;
    if (Number.isFinite(maxBytes) && (await this.hasBigObjects())) {
      await this.trx.raw(`declare ${sizesName} no scroll cursor for ?`, [this.ordered('objects.data_bytes')]);
      sizes = new SizeQueue(async (count) => {
        const { rows } = (await this.trx.raw(`fetch ${count} from ${sizesName}`)) as { rows: { data_bytes: number }[] };
        return rows.map((r) => r.data_bytes);
      }, Math.max(rowsPerFetch, SIZES_PER_FETCH));
    } else {
      // No object above BIG_OBJECT_BYTES: the count alone keeps two batches (one prefetched) within maxBytes (the
      // common case, and the cheap one: no second cursor; 1,000 objects a batch at the defaults, as before).
      if (Number.isFinite(maxBytes)) rowsPerFetch = Math.max(1, Math.min(rowsPerFetch, Math.floor(maxBytes / (2 * BIG_OBJECT_BYTES))));
      sizes = countOnly(Number.isFinite(maxBytes) ? BIG_OBJECT_BYTES : 0);
    }
    // The next FETCH is sent before the current batch is handed out, so PostgreSQL reads and serializes it while
    // the writers work (the two run on different cores), as long as both batches together stay within `maxBytes`;
    // big objects are fetched one batch at a time. A stop or error leaves at most that one FETCH in flight: the
    // connection still runs its statements in order, so the CLOSE below (or the rollback) simply follows it.
    const start = (count: number) => {
      const p = Promise.resolve(this.trx.raw(`fetch ${count} from ${name}`) as Promise<{ rows: RawObjectRow[] }>);
      p.catch(() => {}); // awaited below, or abandoned on stop; never an unhandled rejection
      return p;
    };
    try {
      signal.throwIfAborted();
      let current = await sizes.take(rowsPerFetch, maxBytes);
      if (current.count === 0) return;
      let pending = start(current.count);
      let previousBytes = 0;
      for (;;) {
        const { rows } = await pending;
        if (rows.length === 0) return;
        // The consumer is done with the previous batch: after a big one, collect its garbage now, while only this
        // batch is alive (see infra/memory.ts; V8 would otherwise let hundreds of MB of dead strings accumulate).
        if (previousBytes > COLLECT_AFTER_BYTES) collectGarbage();
        // Only real sizes count: the count-only planner's figure is an upper bound, and its objects are small
        // (young-generation garbage that V8 collects cheaply by itself).
        previousBytes = sizes instanceof SizeQueue ? current.bytes : 0;
        signal.throwIfAborted();
        // Fewer rows than asked for: that was the last batch (the count-only planner cannot know it in advance).
        const next = rows.length < current.count ? { count: 0, bytes: 0 } : await sizes.take(rowsPerFetch, maxBytes);
        let prefetched: typeof pending | null = null;
        if (next.count > 0 && current.bytes + next.bytes <= maxBytes) prefetched = start(next.count);
        if (!shapeOnly) convertTimestamps(rows);
        yield rows;
        if (next.count === 0) return;
        signal.throwIfAborted();
        pending = prefetched ?? start(next.count);
        current = next;
      }
    } finally {
      // After an error the transaction is aborted and rolled back anyway; closing is only needed on success.
      await this.trx.raw(`close ${name}`).catch(() => {});
      if (sizes instanceof SizeQueue) await this.trx.raw(`close ${sizesName}`).catch(() => {});
    }
  }

  /** Whether the owner has any object above BIG_OBJECT_BYTES (the partial index `objects_big` answers it). */
  private async hasBigObjects(): Promise<boolean> {
    const { rows } = (await this.trx.raw(
      `select exists(select 1 from objects where owner_id = ? and data_bytes > ${BIG_OBJECT_BYTES}) as big`,
      [this.options.ownerId],
    )) as { rows: { big: boolean }[] };
    return rows[0]?.big === true;
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

/** A batch with more object text than this is followed by a full garbage collection. */
export const COLLECT_AFTER_BYTES = 4 * 1024 * 1024;

/** Must equal the predicate of the partial index `objects_big` (migration 20261130061000). */
const BIG_OBJECT_BYTES = 8192;

interface BatchPlanner {
  take(maxRows: number, maxBytes: number): Promise<{ count: number; bytes: number }>;
}

/** Without big objects: always `maxRows`, at most `rowBytes` each (the end shows as a short FETCH). */
const countOnly = (rowBytes: number): BatchPlanner => ({
  take: async (maxRows) => ({ count: maxRows, bytes: maxRows * rowBytes }),
});

/** How many sizes one FETCH of the size cursor reads at least. */
const SIZES_PER_FETCH = 8192;

/**
 * The sizes of the rows ahead, read from the size cursor in large FETCHes. `take` cuts the next batch: up to
 * `maxRows` rows whose sizes sum to at most `maxBytes`, at least one row while any is left.
 */
export class SizeQueue implements BatchPlanner {
  private buffer: number[] = [];
  private head = 0;
  private done = false;

  constructor(
    private readonly read: (count: number) => Promise<number[]>,
    private readonly chunk: number,
  ) {}

  async take(maxRows: number, maxBytes: number): Promise<{ count: number; bytes: number }> {
    if (this.buffer.length - this.head < maxRows && !this.done) {
      const more = await this.read(this.chunk);
      if (more.length < this.chunk) this.done = true;
      this.buffer = this.buffer.slice(this.head).concat(more);
      this.head = 0;
    }
    let count = 0;
    let bytes = 0;
    while (count < maxRows && this.head < this.buffer.length) {
      const next = this.buffer[this.head]!;
      if (count > 0 && bytes + next > maxBytes) break;
      bytes += next;
      count++;
      this.head++;
    }
    return { count, bytes };
  }
}
