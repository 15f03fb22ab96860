import type { Knex } from 'knex';
import type { ExportRow } from '../exports/export-repo.js';

/** The run whose files an export currently shows (`exports.published_run_id`). */
export interface PublishedRun {
  id: number;
  /** Storage key prefix of the run's files, ends with `/`. */
  prefix: string;
  finishedAt: Date;
}

export type ExportWithPublished = ExportRow & { run_prefix: string | null; run_finished_at: Date | null };

/** The export row and its published run in one statement; `where` scopes it (owner for file/ and zip/). */
export async function exportWithPublished(db: Knex, where: { id: number; owner_id?: number }): Promise<ExportWithPublished | undefined> {
  const q = db('exports as e')
    .leftJoin('runs as r', 'r.id', 'e.published_run_id')
    .where('e.id', where.id)
    .first('e.*', 'r.files_prefix as run_prefix', 'r.finished_at as run_finished_at');
  if (where.owner_id !== undefined) q.andWhere('e.owner_id', where.owner_id);
  return (await q) as ExportWithPublished | undefined;
}

export const publishedRunOf = (row: ExportWithPublished): PublishedRun | null =>
  row.published_run_id && row.run_prefix
    ? { id: Number(row.published_run_id), prefix: row.run_prefix, finishedAt: row.run_finished_at ?? row.updated_at }
    : null;

/** What archives need of each published file. */
export interface ArchiveFile {
  path: string;
  size: number;
  crc32: number;
  mtime: number;
}

/**
 * A run's files in `_files` order with only the archive columns, aggregated into one JSON text in PostgreSQL:
 * for 100,000 files one value to parse instead of 100,000 rows through the driver (time to first byte, R-PERF-2).
 */
export async function archiveFiles(db: Knex, runId: number): Promise<ArchiveFile[]> {
  return (await archiveFileList(db, runId)).files;
}

/** archiveFiles plus the JSON text it was parsed from (an exact, ordered fingerprint of the list for ETags). */
export async function archiveFileList(db: Knex, runId: number): Promise<{ files: ArchiveFile[]; text: string }> {
  const { rows } = (await db.raw(
    `select coalesce(json_agg(json_build_array(path, size, crc32, mtime) order by ord), '[]')::text as list
       from run_files where run_id = ?`,
    [runId],
  )) as { rows: { list: string }[] };
  const text = rows[0].list;
  const files = (JSON.parse(text) as [string, number, number, number][]).map(([path, size, crc32, mtime]) => ({
    path,
    size,
    crc32,
    mtime,
  }));
  return { files, text };
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
