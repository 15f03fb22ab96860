import type { Knex } from 'knex';
import { listEvents } from './events.js';
import { type ExportRow, publishedFiles, runSummaries, type RunSummary } from './export-repo.js';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Hook for modules that add to the `_transports` view (state, download links); identity until transports land. */
export type TransportsView = (row: ExportRow) => Promise<unknown[]> | unknown[];

function base(row: ExportRow, run: RunSummary | undefined) {
  const progress = run && (run.state === 'processing' || run.state === 'pending') ? run.progress : null;
  return {
    _basetype: 'export',
    _date_created: iso(row.created_at),
    _state: row.state,
    _progress: progress ?? null,
    _failure_reason: row.failure_reason,
    _next_run: iso(row.next_run_at),
    _last_run: run
      ? {
          _id: run.id,
          trigger: run.trigger,
          state: run.state,
          started_at: iso(run.started_at),
          finished_at: iso(run.finished_at),
        }
      : null,
    _expires_at: iso(row.expires_at),
  };
}

function exportAttributes(row: ExportRow) {
  return { _id: row.id, _version: row.version, type: row.type, name: row.name, ...row.definition };
}

/** R-EXP-1: list entries omit `_files`, `_downloads`, `_schedules`, `_transports` and `_log`. */
export async function presentList(db: Knex, rows: ExportRow[]) {
  const runs = await runSummaries(
    db,
    rows.map((r) => r.last_run_id).filter((id): id is number => id !== null),
  );
  return rows.map((row) => ({ ...base(row, row.last_run_id ? runs.get(row.last_run_id) : undefined), export: exportAttributes(row) }));
}

/** R-EXP-2: one export with everything, including `_files` of the published run and `_log`. */
export async function presentExport(db: Knex, row: ExportRow, transportsView: TransportsView) {
  const [runs, files, log, transports] = await Promise.all([
    runSummaries(db, row.last_run_id ? [row.last_run_id] : []),
    publishedFiles(db, row.published_run_id),
    listEvents(db, row.id),
    transportsView(row),
  ]);
  return {
    ...base(row, row.last_run_id ? runs.get(row.last_run_id) : undefined),
    _schedules: row.schedules,
    _transports: transports,
    _log: log,
    _files: files.map((f) => ({
      path: f.path,
      size: f.size,
      sha256: f.sha256,
      crc32: f.crc32,
      mime_type: f.mime_type,
      ...(f.eas_id ? { eas_id: f.eas_id, eas_fileclass: f.eas_fileclass } : {}),
    })),
    export: exportAttributes(row),
  };
}
