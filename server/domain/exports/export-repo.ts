import type { Knex } from 'knex';
import { preparedQuery } from '../../infra/db/prepared.js';
import { notFound } from '../errors.js';
import type { ExportRow, PublishedFile, RunSummary } from '../rows.js';
import { applyExportFilter, type ExportFilter } from './filter.js';

/** Every query here is scoped by owner: another user's export is simply not found (R-AUTH-6, docs/errors.md). */
export async function getOwnedExport(db: Knex, ownerId: number, id: number, forUpdate = false): Promise<ExportRow> {
  const q = db<ExportRow>('exports').where({ id, owner_id: ownerId }).first();
  if (forUpdate) q.forUpdate();
  const row = (await q) as ExportRow | undefined;
  if (!row) throw notFound('export', id);
  return row;
}

const ISO = (col: string) => `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
// The last run as JSON, joined in the same statement so a list or a GET is one round trip (R-PERF-4).
const LAST_RUN_JSON = `(select json_build_object('id', r.id, 'trigger', r.trigger, 'state', r.state,
    'started_at', ${ISO('r.started_at')}, 'finished_at', ${ISO('r.finished_at')}, 'progress', r.progress)
  from runs r where r.id = exports.last_run_id) as last_run`;

export type ExportWithRun = ExportRow & { last_run: RunSummary | null };

// What a list entry shows; the heavy jsonb columns (schedules, transports) stay in the database (R-EXP-1).
const LIST_COLUMNS = `id, owner_id, version, type, name, definition, state, failure_reason, last_run_id,
  ${ISO('created_at')} as created_at, ${ISO('next_run_at')} as next_run_at, ${ISO('expires_at')} as expires_at`;

/** A list entry: timestamps come as ISO text from PostgreSQL (no Date round trip per row). */
export type ExportListRow = Omit<ExportWithRun, 'created_at' | 'next_run_at' | 'expires_at'> & {
  created_at: string;
  next_run_at: string | null;
  expires_at: string | null;
};

export async function listOwnedExports(
  db: Knex,
  ownerId: number,
  opts: { filter: ExportFilter | null; limit: number; offset: number },
): Promise<{ count: number; rows: ExportListRow[] }> {
  const base = db<ExportRow>('exports').where({ owner_id: ownerId });
  if (opts.filter) applyExportFilter(base, opts.filter);
  const page = base
    .clone()
    .select(db.raw(LIST_COLUMNS), db.raw('count(*) over () as total_count'), db.raw(LAST_RUN_JSON))
    .orderBy('id', 'desc')
    .limit(opts.limit)
    .offset(opts.offset)
    .toSQL()
    .toNative();
  // Unfiltered lists (the common call) run as one prepared statement; filtered ones vary in shape, so they stay
  // unnamed rather than filling every connection with one statement per filter.
  const rows = opts.filter
    ? ((await db.raw(page.sql.replace(/\$\d+/g, '?'), page.bindings as Knex.RawBinding[])).rows as ListRow[])
    : await preparedQuery<ListRow>(db, 'export_list', page.sql, page.bindings as unknown[]);
  // The window count comes with the rows; only a page past the end needs its own count.
  const count = rows.length
    ? rows[0].total_count
    : Number(((await base.clone().count({ count: '*' })) as { count: string }[])[0].count);
  return { count, rows };
}

type ListRow = ExportListRow & { total_count: number };

export interface ExportView {
  row: ExportWithRun;
  files: PublishedFile[];
  log: { type: string; timestamp: string; info: Record<string, unknown> }[];
}

const VIEW_SQL = `select exports.*, ${LAST_RUN_JSON},
    coalesce((select json_agg(json_build_object('path', f.path, 'size', f.size, 'sha256', f.sha256,
      'crc32', f.crc32, 'mime_type', f.mime_type, 'eas_id', f.eas_id, 'eas_fileclass', f.eas_fileclass,
      'mtime', f.mtime) order by f.ord) from run_files f where f.run_id = exports.published_run_id), '[]') as files,
    coalesce((select json_agg(json_build_object('type', ev.type, 'timestamp', ${ISO('ev.timestamp')},
      'info', ev.info) order by ev.id) from export_events ev where ev.export_id = exports.id), '[]') as log
  from exports where id = $1 and owner_id = $2`;

/** One export with its last run, published files and event log, in one prepared statement (the GET hot path). */
export async function getOwnedExportView(db: Knex, ownerId: number, id: number): Promise<ExportView> {
  const [row] = await preparedQuery<ExportWithRun & { files: PublishedFile[]; log: ExportView['log'] }>(
    db,
    'export_view',
    VIEW_SQL,
    [id, ownerId],
  );
  if (!row) throw notFound('export', id);
  const { files, log, ...rest } = row;
  return { row: rest as ExportWithRun, files, log };
}

export async function publishedFiles(db: Knex, runId: number | null): Promise<PublishedFile[]> {
  if (!runId) return [];
  return (await db('run_files')
    .where({ run_id: runId })
    .orderBy('ord')
    .select('path', 'size', 'sha256', 'crc32', 'mime_type', 'eas_id', 'eas_fileclass', 'mtime')) as PublishedFile[];
}
