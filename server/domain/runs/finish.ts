import type { Knex } from 'knex';
import { withTransaction } from '../../infra/db/transaction.js';
import { logEvent } from '../event-log.js';
import { encodeArchiveIndex } from '../archive/archive-index.js';
import type { RunRow } from './queue.js';
import type { StagedFile } from './staging.js';

/**
 * Publishes a finished run atomically (R-ENG-4): in one transaction the run becomes done, its files become the
 * export's `_files`, and `published_run_id` switches to it. Readers see the old files or the new ones, never a mix.
 * False when the run was no longer ours (stopped or taken over): the caller then discards the staged files.
 */
export async function publishRun(
  db: Knex,
  run: RunRow,
  workerId: string,
  result: { prefix: string; files: StagedFile[]; objects: number; progress: object },
): Promise<boolean> {
  return withTransaction(db, async (trx) => {
    const [done] = await trx('runs')
      .where({ id: run.id, locked_by: workerId, state: 'processing' })
      .update({
        state: 'done',
        finished_at: trx.fn.now(),
        files_prefix: result.prefix,
        progress: JSON.stringify(result.progress),
        locked_by: null,
        lease_expires_at: null,
        // Same list, same order as the run_files rows below: readers of zip/ decode this instead of the rows.
        archive_index: encodeArchiveIndex(result.files),
      })
      .returning('id');
    if (!done) return false;
    const rows = result.files.map((f, ord) => ({ run_id: run.id, ord, ...f }));
    for (let i = 0; i < rows.length; i += 1000) await trx('run_files').insert(rows.slice(i, i + 1000));
    await trx('exports')
      .where({ id: run.export_id })
      .update({ published_run_id: run.id, updated_at: trx.fn.now() });
    await trx('exports')
      .where({ id: run.export_id, last_run_id: run.id })
      .update({ state: 'done', failure_reason: null });
    await logEvent(trx, run.export_id, 'EXPORT_FINISH', {
      run_id: run.id,
      objects: result.objects,
      files: result.files.length,
      bytes: result.files.reduce((n, f) => n + f.size, 0),
    });
    return true;
  });
}

/** Marks our run failed with a reason a user can read; no-op when it is no longer ours. */
export async function failRun(db: Knex, run: RunRow, workerId: string, reason: string): Promise<boolean> {
  return withTransaction(db, async (trx) => {
    const [failed] = await trx('runs')
      .where({ id: run.id, locked_by: workerId, state: 'processing' })
      .update({ state: 'failed', failure_reason: reason, finished_at: trx.fn.now(), locked_by: null, lease_expires_at: null })
      .returning('id');
    if (!failed) return false;
    await trx('exports')
      .where({ id: run.export_id, last_run_id: run.id })
      .update({ state: 'failed', failure_reason: reason, updated_at: trx.fn.now() });
    await logEvent(trx, run.export_id, 'EXPORT_FAILED', { run_id: run.id, reason });
    return true;
  });
}

/** Gives a claimed run back to the queue (graceful shutdown): the attempt does not count. */
export async function releaseRun(db: Knex, run: RunRow, workerId: string): Promise<void> {
  await db.transaction(async (trx) => {
    const n = await trx('runs')
      .where({ id: run.id, locked_by: workerId, state: 'processing' })
      .update({ state: 'pending', locked_by: null, lease_expires_at: null, attempts: trx.raw('greatest(attempts - 1, 0)') });
    if (n) await trx('exports').where({ id: run.export_id, last_run_id: run.id }).update({ state: 'pending' });
  });
}
