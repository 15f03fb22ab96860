/**
 * The run life cycle: the only writer of `runs.state` and of the state the export mirrors from its last
 * run (`exports.state`, `failure_reason`). Every change of a run's state happens here, with the export's mirror and
 * the event log entry in the same transaction:
 *
 *   enqueueRun ─▶ pending ─claimRuns─▶ processing ─publishRun─▶ done      (+ its delivery jobs, same transaction)
 *                    ▲                  │  │  └──failRun──────▶ failed    (+ failure notifications, same transaction)
 *                    └──releaseRun──────┘  └─sweepExpiredRuns─▶ pending | failed (lease expired: takeover)
 *   cancelActiveRun: pending | processing ─▶ failed (stop, update, delete; the holder hears it by NOTIFY, or at its heartbeat)
 *
 * Writes by a worker require `locked_by = workerId and state = 'processing'`, so a run stopped or taken over
 * meanwhile is never written by the worker that lost it.
 */
import type { Knex } from 'knex';
import { withTransaction } from '../../infra/db/transaction.js';
import { logEvent } from '../event-log.js';
import { CHANNELS, sendSignal } from '../signals.js';
import { setExpiry } from './expiry.js';
import { encodeArchiveIndex } from '../archive/archive-index.js';
import { ACTIVE_STATES, type RunRow, type RunTrigger } from './queue.js';
import type { StagedFile } from './staging.js';

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
  // Idle workers claim it at once instead of at their next poll.
  await sendSignal(trx, CHANNELS.jobQueued, 'run');
  await trx('exports')
    .where({ id: exp.id })
    .update({ state: 'pending', failure_reason: null, last_run_id: run.id, updated_at: trx.fn.now() });
  return run;
}

/**
 * Ends the export's active run as failed with `reason` (stop, update, delete). The worker holding it hears of it
 * through the jobStopped signal at the commit, or else at its next heartbeat (every second), because every worker
 * write requires state = 'processing' and locked_by = it.
 */
export async function cancelActiveRun(trx: Knex.Transaction, exportId: number, reason: string): Promise<RunRow | null> {
  const [run] = (await trx('runs')
    .where({ export_id: exportId })
    .whereIn('state', ACTIVE_STATES)
    .update({
      state: 'failed',
      failure_reason: reason,
      finished_at: trx.fn.now(),
      locked_by: null,
      lease_expires_at: null,
    })
    .returning('*')) as RunRow[];
  if (run) await sendSignal(trx, CHANNELS.jobStopped, `run:${run.id}`);
  return run ?? null;
}

/** The export shows a stop by its user (its run was cancelled, or only its deliveries were). */
export async function markExportStopped(trx: Knex.Transaction, exportId: number, reason: string): Promise<void> {
  await trx('exports')
    .where({ id: exportId })
    .update({ state: 'failed', failure_reason: reason, updated_at: trx.fn.now() });
}

/** The export forgets its last outcome (reset-status, or a changed definition): state `new`. */
export async function resetExportState(trx: Knex.Transaction, exportId: number): Promise<void> {
  await trx('exports').where({ id: exportId }).update({ state: 'new', failure_reason: null, updated_at: trx.fn.now() });
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
export async function heartbeatRun(db: Knex, run: RunRow, workerId: string, leaseMs: number, progress: object | null) {
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
export async function sweepExpiredRuns(db: Knex): Promise<{ requeued: RunRow[]; failed: RunRow[] }> {
  return withTransaction(db, async (trx) => {
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
    for (const r of requeued)
      await trx('exports').where({ id: r.export_id, last_run_id: r.id }).update({ state: 'pending' });
    for (const r of failed) {
      await trx('exports')
        .where({ id: r.export_id, last_run_id: r.id })
        .update({ state: 'failed', failure_reason: r.failure_reason, updated_at: trx.fn.now() });
      await logEvent(trx, r.export_id, 'EXPORT_FAILED', { run_id: r.id, reason: r.failure_reason });
      await enqueueDeliveries(trx, r, 'failed');
    }
    return { requeued, failed };
  });
}

/**
 * Publishes a finished run atomically (R-ENG-4): in one transaction the run becomes done, its files become the
 * export's `_files`, `published_run_id` switches to it, its expiry is set and its delivery jobs are queued. Readers
 * see the old files or the new ones, never a mix, and a published run always has its deliveries (a crash right
 * after the commit loses none). False when the run was no longer ours (stopped or taken over): the caller then
 * discards the staged files.
 */
export async function publishRun(
  db: Knex,
  run: RunRow,
  workerId: string,
  result: { prefix: string; files: StagedFile[]; objects: number; progress: object; exportTtlDays: number },
): Promise<boolean> {
  const bytes = result.files.reduce((n, f) => n + f.size, 0);
  return withTransaction(db, async (trx) => {
    const [done] = await trx('runs')
      .where({ id: run.id, locked_by: workerId, state: 'processing' })
      .update({
        state: 'done',
        finished_at: trx.fn.now(),
        files_prefix: result.prefix,
        progress: JSON.stringify(result.progress),
        // The run history's figures (GET …/runs), kept after retention removes the files rows.
        objects: result.objects,
        files: result.files.length,
        bytes,
        locked_by: null,
        lease_expires_at: null,
        // Same list, same order as the run_files rows below: readers of zip/ decode this instead of the rows.
        archive_index: encodeArchiveIndex(result.files),
      })
      .returning('id');
    if (!done) return false;
    const rows = result.files.map((f, ord) => ({ run_id: run.id, ord, ...f }));
    for (let i = 0; i < rows.length; i += 1000) await trx('run_files').insert(rows.slice(i, i + 1000));
    await trx('exports').where({ id: run.export_id }).update({ published_run_id: run.id, updated_at: trx.fn.now() });
    await trx('exports')
      .where({ id: run.export_id, last_run_id: run.id })
      .update({ state: 'done', failure_reason: null });
    await setExpiry(trx, result.exportTtlDays, run.export_id);
    await logEvent(trx, run.export_id, 'EXPORT_FINISH', {
      run_id: run.id,
      objects: result.objects,
      files: result.files.length,
      bytes,
    });
    await enqueueDeliveries(trx, run, 'done');
    return true;
  });
}

/** Marks our run failed with a reason a user can read (and queues its failure notifications); no-op when not ours. */
export async function failRun(db: Knex, run: RunRow, workerId: string, reason: string): Promise<boolean> {
  return withTransaction(db, async (trx) => {
    const [failed] = await trx('runs')
      .where({ id: run.id, locked_by: workerId, state: 'processing' })
      .update({
        state: 'failed',
        failure_reason: reason,
        finished_at: trx.fn.now(),
        locked_by: null,
        lease_expires_at: null,
      })
      .returning('id');
    if (!failed) return false;
    await trx('exports')
      .where({ id: run.export_id, last_run_id: run.id })
      .update({ state: 'failed', failure_reason: reason, updated_at: trx.fn.now() });
    await logEvent(trx, run.export_id, 'EXPORT_FAILED', { run_id: run.id, reason });
    await enqueueDeliveries(trx, run, 'failed');
    return true;
  });
}

/** Gives a claimed run back to the queue (graceful shutdown): the attempt does not count. */
export async function releaseRun(db: Knex, run: RunRow, workerId: string): Promise<void> {
  await withTransaction(db, async (trx) => {
    const n = await trx('runs')
      .where({ id: run.id, locked_by: workerId, state: 'processing' })
      .update({
        state: 'pending',
        locked_by: null,
        lease_expires_at: null,
        attempts: trx.raw('greatest(attempts - 1, 0)'),
      });
    if (n) await trx('exports').where({ id: run.export_id, last_run_id: run.id }).update({ state: 'pending' });
  });
}

/**
 * Queues the delivery jobs of a run that just ended (R-TR-1): every `_transports` entry after a published run; after
 * a failed one only the `email` entries whose `notify` covers failures. One row per run and entry (a second call
 * inserts nothing); the entry is copied as it is now, secrets still sealed. The transports' job kind executes them.
 */
async function enqueueDeliveries(trx: Knex.Transaction, run: RunRow, outcome: 'done' | 'failed'): Promise<void> {
  const exp = (await trx('exports').where({ id: run.export_id }).first('owner_id', 'transports')) as
    | { owner_id: number; transports: Record<string, unknown>[] }
    | undefined;
  if (!exp) return;
  const rows = exp.transports.flatMap((entry, i) => {
    const notify = (entry.options as { notify?: string } | undefined)?.notify ?? 'always';
    if (outcome === 'failed' && (entry.type !== 'email' || notify === 'success')) return [];
    return [
      {
        export_id: run.export_id,
        run_id: run.id,
        owner_id: exp.owner_id,
        transport_index: i,
        type: String(entry.type),
        transport: JSON.stringify(entry),
      },
    ];
  });
  if (rows.length > 0) {
    await trx('transport_deliveries').insert(rows).onConflict(['run_id', 'transport_index']).ignore();
    await sendSignal(trx, CHANNELS.jobQueued, 'delivery');
  }
}

