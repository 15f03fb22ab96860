import type { Knex } from 'knex';
import { logEvent } from '../event-log.js';

export type RunTrigger = 'create' | 'start' | 'update' | 'schedule' | 'catchup';

export interface RunRow {
  id: number;
  export_id: number;
  owner_id: number;
  trigger: RunTrigger;
  state: 'pending' | 'processing' | 'done' | 'failed';
  attempts: number;
  max_attempts: number;
  locked_by: string | null;
  lease_expires_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  failure_reason: string | null;
  progress: Record<string, number> | null;
  files_prefix: string | null;
  fire_time: Date | null;
}

export const ACTIVE_STATES = ['pending', 'processing'] as const;

/** The columns of RunRow: reads of whole runs select these, not `*` (a published run also holds its archive index). */
export const RUN_COLUMNS = [
  'id', 'export_id', 'owner_id', 'trigger', 'state', 'attempts', 'max_attempts', 'locked_by', 'lease_expires_at',
  'created_at', 'started_at', 'finished_at', 'failure_reason', 'progress', 'files_prefix', 'fire_time',
] as const;

/**
 * Queues a run of `exportId` and marks the export pending. Returns null when a run is already active: the
 * partial unique index `runs_one_active_per_export` decides, so concurrent starts yield exactly one run.
 */
export async function enqueueRun(
  trx: Knex.Transaction,
  exp: { id: number; owner_id: number },
  trigger: RunTrigger,
  fireTime: Date | null = null,
): Promise<RunRow | null> {
  const rows = (await trx.raw(
    `insert into runs (export_id, owner_id, trigger, fire_time) values (?, ?, ?, ?)
     on conflict (export_id) where state in ('pending','processing') do nothing returning *`,
    [exp.id, exp.owner_id, trigger, fireTime],
  )) as { rows: RunRow[] };
  const run = rows.rows[0];
  if (!run) return null;
  await trx('exports')
    .where({ id: exp.id })
    .update({ state: 'pending', failure_reason: null, last_run_id: run.id, updated_at: trx.fn.now() });
  return run;
}

/**
 * Ends the export's active run as failed with `reason` (stop, update, delete). The worker holding it notices at
 * its next heartbeat (every second) because every worker write requires state = 'processing' and locked_by = it.
 */
export async function cancelActiveRun(trx: Knex.Transaction, exportId: number, reason: string): Promise<RunRow | null> {
  const [run] = (await trx('runs')
    .where({ export_id: exportId })
    .whereIn('state', ACTIVE_STATES)
    .update({ state: 'failed', failure_reason: reason, finished_at: trx.fn.now(), locked_by: null, lease_expires_at: null })
    .returning('*')) as RunRow[];
  if (run) await trx.raw("select pg_notify('export_run_stop', ?)", [String(run.id)]);
  return run ?? null;
}

/**
 * Claims up to `limit` pending runs for `workerId` in one statement (graphile-worker's pattern): rows locked with
 * SKIP LOCKED so concurrent workers never claim the same run. Fair order: runs of owners with fewer runs already
 * processing come first, then oldest first, so one user's hundred runs don't starve everyone else (R-ENG-3).
 */
export async function claimRuns(db: Knex, workerId: string, limit: number, leaseMs: number): Promise<RunRow[]> {
  if (limit <= 0) return [];
  const { rows } = (await db.raw(
    `with candidates as (
       select r.id from runs r
       where r.state = 'pending'
       order by (select count(*) from runs p where p.owner_id = r.owner_id and p.state = 'processing'), r.id
       limit ? for update skip locked
     ), claimed as (
       update runs set state = 'processing', locked_by = ?, attempts = attempts + 1,
         lease_expires_at = now() + make_interval(secs => ?), started_at = coalesce(started_at, now())
       from candidates where runs.id = candidates.id
       returning runs.*
     ), marked as (
       update exports set state = 'processing', updated_at = now() from claimed where exports.id = claimed.export_id
     )
     select * from claimed`,
    [limit, workerId, leaseMs / 1000],
  )) as { rows: RunRow[] };
  return rows;
}

/** Extends the lease and stores progress. False means the run is no longer ours (stopped, taken over): abort. */
export async function heartbeat(db: Knex, run: RunRow, workerId: string, leaseMs: number, progress: object | null) {
  const n = await db('runs')
    .where({ id: run.id, locked_by: workerId, state: 'processing' })
    .update({
      lease_expires_at: db.raw('now() + make_interval(secs => ?)', [leaseMs / 1000]),
      ...(progress ? { progress: JSON.stringify(progress) } : {}),
    });
  return n === 1;
}

/**
 * Moves runs whose lease expired (their worker died) back to pending, or to failed after max_attempts
 * (R-ENG-2). Returns the runs it failed, whose staging files the caller removes.
 */
export async function sweepExpiredLeases(db: Knex): Promise<{ requeued: RunRow[]; failed: RunRow[] }> {
  return db.transaction(async (trx) => {
    const { rows } = (await trx.raw(
      `update runs set
         state = case when attempts >= max_attempts then 'failed' else 'pending' end,
         failure_reason = case when attempts >= max_attempts
           then 'The export was interrupted ' || attempts || ' times because the worker running it stopped responding.'
           else null end,
         finished_at = case when attempts >= max_attempts then now() else null end,
         locked_by = null, lease_expires_at = null
       where id in (select id from runs where state = 'processing' and lease_expires_at < now() for update skip locked)
       returning *`,
    )) as { rows: RunRow[] };
    const requeued = rows.filter((r) => r.state === 'pending');
    const failed = rows.filter((r) => r.state === 'failed');
    for (const r of requeued) await trx('exports').where({ id: r.export_id, last_run_id: r.id }).update({ state: 'pending' });
    for (const r of failed) {
      await trx('exports')
        .where({ id: r.export_id, last_run_id: r.id })
        .update({ state: 'failed', failure_reason: r.failure_reason, updated_at: trx.fn.now() });
      await logEvent(trx, r.export_id, 'EXPORT_FAILED', { run_id: r.id, reason: r.failure_reason });
    }
    return { requeued, failed };
  });
}
