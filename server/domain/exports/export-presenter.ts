import type { Knex } from 'knex';
import type { ExportRow, PublishedFile, RunSummary } from '../rows.js';
import type { ExportListRow, ExportView } from './export-repo.js';

// List rows carry timestamps already as ISO text; single rows as Dates.
const iso = (d: Date | string | null | undefined) => (d ? (typeof d === 'string' ? d : d.toISOString()) : null);

/** Hook for modules that add to the `_transports` view (state, download links); `db` may be a snapshot transaction. */
export type TransportsView = (row: ExportRow, db?: Knex) => Promise<unknown[]> | unknown[];

/** The state part every view of an export shows (list entries, GET, and the status of `…/status`). */
export function presentState(row: ExportRow | ExportListRow, run: RunSummary | null) {
  const active = run && (run.state === 'processing' || run.state === 'pending');
  return {
    _basetype: 'export',
    _date_created: iso(row.created_at),
    _state: row.state,
    _progress: (active && run.progress) || null,
    _failure_reason: row.failure_reason,
    _next_run: iso(row.next_run_at),
    _last_run: run
      ? { _id: run.id, trigger: run.trigger, state: run.state, started_at: run.started_at, finished_at: run.finished_at }
      : null,
    _expires_at: iso(row.expires_at),
  };
}

function exportAttributes(row: ExportRow | ExportListRow) {
  return { _id: row.id, _version: row.version, type: row.type, name: row.name, ...row.definition };
}

/** R-EXP-1: list entries omit `_files`, `_downloads`, `_schedules`, `_transports` and `_log`. */
export function presentList(rows: ExportListRow[]) {
  return rows.map((row) => ({ ...presentState(row, row.last_run), export: exportAttributes(row) }));
}

/** R-EXP-2: one export with everything, including `_files` of the published run and `_log` (unless omitted). */
export async function presentExport(view: ExportView, transportsView: TransportsView) {
  const { row, files, log } = view;
  return {
    ...presentState(row, row.last_run),
    _schedules: row.schedules,
    _transports: await transportsView(row),
    // Left out when the caller asked so (`omit`), not shown empty: an empty list would read as "no files".
    ...(log ? { _log: log } : {}),
    ...(files ? { _files: files.map(presentFile) } : {}),
    export: exportAttributes(row),
  };
}

/** One `_files` entry (eas_id and eas_fileclass only for files that came from an asset). */
function presentFile(f: PublishedFile) {
  return {
    path: f.path,
    size: f.size,
    sha256: f.sha256,
    crc32: f.crc32,
    mime_type: f.mime_type,
    ...(f.eas_id ? { eas_id: f.eas_id, eas_fileclass: f.eas_fileclass } : {}),
  };
}
