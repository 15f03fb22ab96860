import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { notFound } from '../errors.js';
import { presentState } from './export-presenter.js';
import { type ExportWithRun, LAST_RUN_JSON } from './export-repo.js';

export interface ExportStatus {
  _id: number;
  _version: number;
  _state: string;
  _progress: Record<string, number> | null;
  _failure_reason: string | null;
  _last_run: ReturnType<typeof presentState>['_last_run'];
  _next_run: string | null;
  _expires_at: string | null;
  /** Opaque: a digest of every other field, so it changes whenever one of them does. */
  _changed: string;
}

// Only the columns the status shows: no definition, schedules or transports, no files or log.
const COLUMNS = `id, owner_id, version, state, failure_reason, next_run_at, expires_at, created_at, ${LAST_RUN_JSON}`;

function presentStatus(row: ExportWithRun): ExportStatus {
  const s = presentState(row, row.last_run);
  const fields = {
    _id: Number(row.id),
    _version: row.version,
    _state: s._state,
    _progress: s._progress,
    _failure_reason: s._failure_reason,
    _last_run: s._last_run,
    _next_run: s._next_run,
    _expires_at: s._expires_at,
  };
  // jsonb gives progress keys in one order every time, so equal fields always give equal digests.
  const _changed = createHash('sha256').update(JSON.stringify(fields)).digest('base64url').slice(0, 22);
  return { ...fields, _changed };
}

/** The status of an owner's export (another user's export is a 404), one small statement. */
export async function readStatus(db: Knex, ownerId: number, id: number): Promise<ExportStatus> {
  const row = (await db('exports').where({ id, owner_id: ownerId }).first(db.raw(COLUMNS))) as
    | ExportWithRun
    | undefined;
  if (!row) throw notFound('export', id);
  return presentStatus(row);
}

/** The statuses of many exports in one statement (the long-poll's shared check); deleted ones are missing. */
export async function readStatuses(db: Knex, ids: number[]): Promise<Map<number, ExportStatus>> {
  const rows = (await db('exports').whereIn('id', ids).select(db.raw(COLUMNS))) as ExportWithRun[];
  return new Map(rows.map((r) => [Number(r.id), presentStatus(r)]));
}
