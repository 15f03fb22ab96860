import type { Knex } from 'knex';
import type { Storage } from '../../infra/storage/storage.js';
import { deleteRunBytes, forgetRunFiles } from './run-files.js';

/**
 * Downloads that started before a newer run was published get at least this long to finish, even for runs beyond
 * the kept count (and with PREVIOUS_RUNS_KEPT=0).
 */
const IN_FLIGHT_GRACE_MS = 10 * 60_000;

export interface RetentionRule {
  /** How long a previous run's files stay downloadable after a newer run replaced it (PREVIOUS_RUNS_TTL). */
  ttlMs: number;
  /** How many previous runs per export keep their files at most (PREVIOUS_RUNS_KEPT). */
  kept: number;
}

/**
 * Previous runs to delete: done runs with files that are not the export's published run. A run counts as replaced
 * from the moment the next finished run of its export was published. Kept while it is among the `kept` newest
 * previous runs and was replaced less than `ttlMs` ago, so a link naming it (R-ROB-9) can still be resumed; an
 * expired export (no published run) keeps none. The result is bounded per export by `kept` + what 10 minutes add.
 */
const DUE_SQL = `
  select id, export_id from (
    select r.id, r.export_id, e.published_run_id,
      (select min(n.finished_at) from runs n where n.export_id = r.export_id and n.state = 'done' and n.id > r.id) as replaced_at,
      row_number() over (partition by r.export_id order by r.id desc) as age
    from runs r join exports e on e.id = r.export_id
    where r.state = 'done' and r.files_deleted_at is null and r.files_prefix is not null
      and r.id is distinct from e.published_run_id
      -- deliveries still waiting for a slot (or running) read these files
      and not exists (select 1 from transport_deliveries d where d.run_id = r.id and d.state in ('pending', 'processing'))
  ) previous
  where published_run_id is null
     or replaced_at is null
     or replaced_at < now() - make_interval(secs => ?)
     or (age > ? and replaced_at < now() - make_interval(secs => ?))
  order by id
  limit 100`;

/**
 * Deletes the files of previous runs that the retention rule no longer keeps: rows first, so links 410 at once; a run
 * whose storage delete fails is marked as having files again and tried on the next sweep (bytes never stay behind
 * unaccounted). Each run on its own: one that fails does not keep every other owner's old files; the first failure
 * is thrown after all were tried, for the sweep to log.
 */
export async function deleteSupersededFiles(db: Knex, storage: Storage, rule: RetentionRule): Promise<number> {
  const { rows } = (await db.raw(DUE_SQL, [rule.ttlMs / 1000, rule.kept, IN_FLIGHT_GRACE_MS / 1000])) as {
    rows: { id: number; export_id: number }[];
  };
  let failure: unknown = null;
  for (const r of rows) {
    try {
      await forgetRunFiles(db, r.id);
      await deleteRunBytes(db, storage, r);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure) throw failure;
  return rows.length;
}

