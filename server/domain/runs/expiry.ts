/**
 * R-EXP-10: the published files of `download`-type exports expire EXPORT_TTL_DAYS after their run finished.
 *
 * - On publish, `expires_at = finished_at + EXPORT_TTL_DAYS` (`_expires_at`, shown beforehand).
 * - The worker sweep deletes expired files (storage + run_files), clears `published_run_id` and logs
 *   EXPORT_EXPIRED. `expires_at` stays set, so `isExpired` still tells the download route to answer
 *   `#server_error:export.expired` rather than `export.not.done`.
 * - A new start revives the export: its run publishes and sets a new `expires_at`.
 */
import type { Knex } from 'knex';
import type { Storage } from '../../infra/storage/storage.js';
import { logEvent } from '../event-log.js';
import { deleteRunBytes, forgetRunFiles } from './run-files.js';

/** True when the export's download files have expired (or are due to): links answer `export.expired`. */
export function isExpired(row: { type: string; expires_at: Date | null }, now: Date = new Date()): boolean {
  return row.type === 'download' && row.expires_at !== null && row.expires_at.getTime() <= now.getTime();
}

/**
 * Sets `expires_at` of a `download` export from its published run. Also run by the sweep for exports that have a
 * published run without `expires_at` (a process that died between publish and this update).
 */
export async function setExpiry(db: Knex, ttlDays: number, exportId?: number): Promise<void> {
  const q = db.raw(
    `update exports e set expires_at = r.finished_at + make_interval(days => ?)
     from runs r
     where r.id = e.published_run_id and e.type = 'download' and r.finished_at is not null
       ${exportId === undefined ? 'and e.expires_at is null' : 'and e.id = ?'}`,
    exportId === undefined ? [ttlDays] : [ttlDays, exportId],
  );
  await q;
}

/**
 * Deletes the published files of expired `download` exports; returns their ids. Safe on several instances. Each export
 * is expired on its own: one that fails (its files cannot be deleted) does not keep the others' files, and the first
 * failure is thrown after all were tried, for the sweep to log.
 */
export async function expireDownloads(db: Knex, storage: Storage, now: Date = new Date(), limit = 100): Promise<number[]> {
  const expired: number[] = [];
  let failure: unknown = null;
  const candidates = (await db('exports')
    .where({ type: 'download' })
    .whereNotNull('published_run_id')
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .limit(limit)
    .select('id')) as { id: number }[];
  for (const { id } of candidates) {
    try {
      if (await expireOne(db, storage, id, now)) expired.push(id);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure) throw failure;
  return expired;
}

async function expireOne(db: Knex, storage: Storage, id: number, now: Date): Promise<boolean> {
  // Claim in a transaction (row lock, re-check) so two sweepers expire an export once and one EXPORT_EXPIRED is logged.
  const runId = await db.transaction(async (trx) => {
    const row = (await trx('exports')
      .where({ id, type: 'download' })
      .whereNotNull('published_run_id')
      .where('expires_at', '<=', now)
      .forUpdate()
      .skipLocked()
      .first('published_run_id')) as { published_run_id: number } | undefined;
    if (!row) return null;
    await trx('exports').where({ id }).update({ published_run_id: null, updated_at: trx.fn.now() });
    await forgetRunFiles(trx, row.published_run_id);
    await logEvent(trx, id, 'EXPORT_EXPIRED', { run_id: row.published_run_id });
    return row.published_run_id;
  });
  if (runId === null) return false;
  // Rows first (links stop at once), bytes after the commit; a failed delete is retried by the superseded-files sweep.
  await deleteRunBytes(db, storage, { export_id: id, id: runId });
  return true;
}
