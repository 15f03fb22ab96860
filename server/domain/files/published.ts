import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { ExportRow } from '../rows.js';
import { type ArchiveFile, decodeArchiveIndex } from '../archive/archive-index.js';

/** The run whose files an export currently shows (`exports.published_run_id`). */
export interface PublishedRun {
  id: number;
  /** Storage key prefix of the run's files, ends with `/`. */
  prefix: string;
  finishedAt: Date;
  /**
   * Identity of this run's immutable file list for caches: run id plus the row version (`xmin`), so a cache can never
   * serve another run's files under a reused id (a reset database, tests).
   */
  cacheKey: string;
}

export type ExportWithPublished = ExportRow & { run_prefix: string | null; run_finished_at: Date | null; run_xmin: string | null };

/** The export row and its published run in one statement; `where` scopes it (owner for file/ and zip/). */
export async function exportWithPublished(db: Knex, where: { id: number; owner_id?: number }): Promise<ExportWithPublished | undefined> {
  const q = db('exports as e')
    .leftJoin('runs as r', 'r.id', 'e.published_run_id')
    .where('e.id', where.id)
    .first('e.*', 'r.files_prefix as run_prefix', 'r.finished_at as run_finished_at', db.raw('r.xmin::text as run_xmin'));
  if (where.owner_id !== undefined) q.andWhere('e.owner_id', where.owner_id);
  return (await q) as ExportWithPublished | undefined;
}

export const publishedRunOf = (row: ExportWithPublished): PublishedRun | null =>
  row.published_run_id && row.run_prefix
    ? {
        id: Number(row.published_run_id),
        prefix: row.run_prefix,
        finishedAt: row.run_finished_at ?? row.updated_at,
        cacheKey: `${Number(row.published_run_id)}:${row.run_xmin ?? ''}`,
      }
    : null;

/**
 * A run named by a link (`download/<passkey>/run/<runId>/…`, `zip/…?run=`, `file/…?run=`, R-ROB-9): the published
 * run or a superseded one whose files are still kept (housekeeping's retention); `'gone'` once its files were deleted;
 * null when the export has no such finished run.
 */
export async function namedRunOf(db: Knex, exportId: number, runId: number): Promise<PublishedRun | 'gone' | null> {
  const r = (await db('runs')
    .where({ id: runId, export_id: exportId, state: 'done' })
    .first('id', 'files_prefix', 'files_deleted_at', 'finished_at', db.raw('xmin::text as xmin'))) as
    | { id: number; files_prefix: string | null; files_deleted_at: Date | null; finished_at: Date | null; xmin: string }
    | undefined;
  if (!r) return null;
  if (r.files_deleted_at || !r.files_prefix || !r.finished_at) return 'gone';
  return { id: Number(r.id), prefix: r.files_prefix, finishedAt: r.finished_at, cacheKey: `${Number(r.id)}:${r.xmin}` };
}

/** A run id as a link or query parameter spells it: digits only, within PostgreSQL's bigint. */
export const parseRunId = (raw: string): number | null =>
  /^[1-9]\d{0,15}$/.test(raw) && Number(raw) <= Number.MAX_SAFE_INTEGER ? Number(raw) : null;

/** A run's archive columns in `_files` order, with an exact fingerprint of the ordered list (for ETags). */
export interface ArchiveFileList {
  files: ArchiveFile[];
  /** sha256 (base64url) over the ordered [path, size, crc32, mtime] list. */
  fingerprint: string;
}

/**
 * The archive columns as four aggregated texts: one row to parse instead of 100,000 through the driver, and cheaper
 * for PostgreSQL to build than JSON. Only for runs without an archive index (published before it existed): the index
 * written at publish is the fast path for the first archive request (R-PERF-2).
 */
const LIST_SQL = `select count(*)::int as n,
    coalesce(string_agg(path, E'\n' order by ord), '') as paths,
    coalesce(string_agg(size::text, ',' order by ord), '') as sizes,
    coalesce(string_agg(crc32::text, ',' order by ord), '') as crcs,
    coalesce(string_agg(mtime::text, ',' order by ord), '') as mtimes
  from run_files where run_id = ?`;

/** The JSON form: exact for any path (a path with a newline can't be split from the text form). */
const LIST_JSON_SQL = `select coalesce(json_agg(json_build_array(path, size, crc32, mtime) order by ord), '[]')::text as list
  from run_files where run_id = ?`;

const fingerprintOf = (files: readonly ArchiveFile[]): string => {
  const h = createHash('sha256');
  // Length-prefixed names, so no two lists hash the same input; hashed in batches (one update per file is slow).
  let batch = '';
  for (const f of files) {
    batch += `${f.path.length}:${f.path} ${f.size} ${f.crc32} ${f.mtime}\n`;
    if (batch.length > 65536) {
      h.update(batch);
      batch = '';
    }
  }
  return h.update(batch).digest('base64url');
};

const splitNumbers = (text: string, n: number): Float64Array | null => {
  const out = new Float64Array(n);
  let k = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 44;
    if (c === 44) {
      if (digits === 0 || k >= n) return null;
      out[k++] = v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
    } else return null;
  }
  return k === n ? out : null;
};

async function loadArchiveFileList(db: Knex, runId: number): Promise<ArchiveFileList> {
  // The index written at publish: one value to decode (R-PERF-2). Runs without one (published before it existed, or
  // rows written directly) and any index this code can't read fall through to run_files.
  const indexed = (await db('runs').where({ id: runId }).first('archive_index')) as { archive_index: Buffer | null } | undefined;
  const decoded = indexed?.archive_index ? decodeArchiveIndex(indexed.archive_index) : null;
  if (decoded) return { files: decoded, fingerprint: fingerprintOf(decoded) };
  const { rows } = (await db.raw(LIST_SQL, [runId])) as {
    rows: { n: number; paths: string; sizes: string; crcs: string; mtimes: string }[];
  };
  const row = rows[0];
  const n = row.n;
  const files: ArchiveFile[] = new Array(n);
  const paths = n === 0 ? [] : row.paths.split('\n');
  const sizes = splitNumbers(row.sizes, n);
  const crcs = splitNumbers(row.crcs, n);
  const mtimes = splitNumbers(row.mtimes, n);
  if (n > 0 && (paths.length !== n || !sizes || !crcs || !mtimes)) {
    // A newline in a path (or an unexpected number form): the JSON form is exact.
    const { rows } = (await db.raw(LIST_JSON_SQL, [runId])) as { rows: { list: string }[] };
    const list = (JSON.parse(rows[0].list) as [string, number, number, number][]).map(([path, size, crc32, mtime]) => ({
      path,
      size: Number(size),
      crc32: Number(crc32),
      mtime: Number(mtime),
    }));
    return { files: list, fingerprint: fingerprintOf(list) };
  }
  for (let i = 0; i < n; i++) {
    files[i] = { path: paths[i], size: (sizes as Float64Array)[i], crc32: (crcs as Float64Array)[i], mtime: (mtimes as Float64Array)[i] };
  }
  return { files, fingerprint: fingerprintOf(files) };
}

/**
 * Small LRU of immutable per-run values (a published run's file list never changes), weighed by file count so a few
 * huge runs can't hold more than about `maxFiles` files' worth of memory.
 */
export class RunCache<V> {
  readonly #map = new Map<string, { value: Promise<V>; weight: number }>();
  #weight = 0;

  constructor(
    private readonly maxFiles: number,
    private readonly maxItems = 64,
  ) {}

  /** The cached value for `key`, else `load()` (concurrent callers share one load; failures are not kept). */
  get(key: string, load: () => Promise<V>, weigh: (v: V) => number): Promise<V> {
    const hit = this.#map.get(key);
    if (hit) {
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit.value;
    }
    const entry = { value: load(), weight: 0 };
    this.#map.set(key, entry);
    entry.value.then(
      (v) => {
        if (this.#map.get(key) !== entry) return;
        entry.weight = weigh(v) + 1;
        this.#weight += entry.weight;
        if (entry.weight > this.maxFiles) this.#delete(key);
        this.#evict();
      },
      () => {
        if (this.#map.get(key) === entry) this.#delete(key);
      },
    );
    return entry.value;
  }

  #delete(key: string) {
    const e = this.#map.get(key);
    if (!e) return;
    this.#weight -= e.weight;
    this.#map.delete(key);
  }

  #evict() {
    for (const key of this.#map.keys()) {
      if (this.#weight <= this.maxFiles && this.#map.size <= this.maxItems) break;
      this.#delete(key);
    }
  }
}

/** Bounded by file count: ~100 bytes per cached file, so ~30 MB at most. */
const listCache = new RunCache<ArchiveFileList>(300_000);

/**
 * A published run's files in `_files` order with only the archive columns, and the list's fingerprint. Cached per
 * run (PublishedRun.cacheKey): a new publish has a new run id, so nothing needs invalidating.
 */
export const archiveFileList = (db: Knex, run: PublishedRun): Promise<ArchiveFileList> =>
  listCache.get(run.cacheKey, () => loadArchiveFileList(db, run.id), (v) => v.files.length);

export async function archiveFiles(db: Knex, run: PublishedRun): Promise<ArchiveFile[]> {
  return (await archiveFileList(db, run)).files;
}

export interface SingleFile extends ArchiveFile {
  sha256: string;
  mime_type: string;
}

/** One published file by exact path, or whether the path is a folder of the run (for `file/` on a folder: 400). */
export async function findRunFile(db: Knex, runId: number, path: string): Promise<SingleFile | 'folder' | null> {
  const row = (await db('run_files')
    .where({ run_id: runId, path })
    .first('path', 'size', 'crc32', 'mtime', 'sha256', 'mime_type')) as Record<string, string | number> | undefined;
  if (row) {
    return {
      path: String(row.path),
      size: Number(row.size),
      crc32: Number(row.crc32),
      mtime: Number(row.mtime),
      sha256: String(row.sha256),
      mime_type: String(row.mime_type),
    };
  }
  if (path === '') return 'folder';
  const folder = (await db('run_files')
    .where({ run_id: runId })
    .whereRaw('starts_with(path, ?)', [`${path}/`])
    .first(db.raw('1 as one'))) as unknown;
  return folder ? 'folder' : null;
}
