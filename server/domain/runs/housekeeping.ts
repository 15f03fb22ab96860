import type { Knex } from 'knex';
import type { Storage } from '../../infra/storage/storage.js';

// Downloads of the previous files that started before a new run was published get this long to finish.
const SUPERSEDED_GRACE = '10 minutes';

/**
 * Deletes the files of published runs that a newer run replaced, once nobody can still be reading them. Each run on
 * its own: one whose files cannot be deleted does not keep every other owner's old files; the first failure is thrown
 * after all were tried, for the sweep to log.
 */
export async function deleteSupersededFiles(db: Knex, storage: Storage): Promise<void> {
  const rows = (await db('runs as r')
    .join('exports as e', 'e.id', 'r.export_id')
    .join('runs as p', 'p.id', 'e.published_run_id')
    .where('r.state', 'done')
    .whereNull('r.files_deleted_at')
    .whereNotNull('r.files_prefix')
    .whereRaw('r.id < p.id')
    .whereRaw(`p.finished_at < now() - interval '${SUPERSEDED_GRACE}'`)
    .limit(100)
    .select('r.id', 'r.export_id')) as { id: number; export_id: number }[];
  let failure: unknown = null;
  for (const r of rows) {
    try {
      await storage.deletePrefix(`exports/${r.export_id}/runs/${r.id}/`);
      await db('runs').where({ id: r.id }).update({ files_deleted_at: db.fn.now(), archive_index: null });
      await db('run_files').where({ run_id: r.id }).delete();
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure) throw failure;
}
