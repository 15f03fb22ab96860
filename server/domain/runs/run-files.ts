import type { Knex } from 'knex';
import type { Storage } from '../../infra/storage/storage.js';
import { runPrefix } from '../storage-keys.js';

/**
 * Deleting a run's files, for every caller (expired downloads, superseded runs): rows first, so links answer 410 at
 * once, and the bytes after the rows are committed (`deleteRunBytes`), so no link ever names missing bytes.
 */
export async function forgetRunFiles(db: Knex, runId: number): Promise<void> {
  await db('runs').where({ id: runId }).update({ files_deleted_at: db.fn.now(), archive_index: null });
  await db('run_files').where({ run_id: runId }).delete();
}

/**
 * Deletes the stored bytes of a run whose rows already say "deleted"; when storage fails, `files_deleted_at` is
 * cleared again so the next sweep retries (the run is no longer published, so it is due at once).
 */
export async function deleteRunBytes(db: Knex, storage: Storage, run: { export_id: number; id: number }): Promise<void> {
  try {
    await storage.deletePrefix(runPrefix(run));
  } catch (err) {
    await db('runs').where({ id: run.id }).update({ files_deleted_at: null }).catch(() => {});
    throw err;
  }
}
