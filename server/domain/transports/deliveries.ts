/**
 * Deliveries as jobs of the worker (R-TR-1). A `transport_deliveries` row is queued by the run life cycle
 * in the transaction that publishes (or fails) the run; from then on it lives like a run:
 *
 *   pending ─claim (SKIP LOCKED, fair per owner)─▶ processing ─deliver ok─▶ done           (TRANSPORT_FINISH)
 *      ▲  ▲                                          │  │  └─error─▶ pending at run_at = now() + back-off (SQL),
 *      │  └────────────hand back (SIGTERM)───────────┘  │           or failed after max_attempts / when permanent
 *      └───────lease expired: sweeper takes over────────┘                                 (TRANSPORT_FAILED)
 *   stopDeliveries (stop): pending | processing ─▶ failed; delete removes the rows. The holder's heartbeat no longer
 *   finds its row and aborts the upload within a heartbeat period.
 *
 * Every write of the holder requires `locked_by = workerId and state = 'processing'`. The export's state and files
 * are never touched by a delivery. Secrets are decrypted in memory only for `deliver`; failure reasons are redacted
 * against them again before they are stored or logged (R-TR-4), and errors are logged by message, never as objects
 * carrying options.
 */
import type { Knex } from 'knex';
import { isConnectionError } from '../../infra/db/outage.js';
import { withTransaction } from '../../infra/db/transaction.js';
import type { Logger } from '../../infra/logger.js';
import type { Storage } from '../../infra/storage/storage.js';
import { logEvent } from '../event-log.js';
import { CHANNELS, sendSignal } from '../signals.js';
import { publishedFiles } from '../exports/export-repo.js';
import type { ExportRow } from '../rows.js';
import type { JobKind } from '../runs/job-kind.js';
import { RUN_COLUMNS, type RunRow } from '../runs/queue.js';
import { storableJson } from '../text.js';
import { packedFiles, plainFiles } from './delivery-files.js';
import { deliveryPacker, offeredPackers } from '../packaging/packaging.js';
import { downloadLinks } from './download-links.js';
import { isPermanent, isTransportError, redact } from './failure.js';
import type { TransportRegistry } from './registry.js';
import { deliveryOptions, secretValues } from './stored-transports.js';
import type { DeliveryContext, DeliveryFile, TransportEmail } from './transport.js';

const DEFAULT_DELIVERY_CONCURRENCY = 8;
const DEFAULT_DELIVERY_CONCURRENCY_PER_OWNER = 4;
/** Back-off before attempt n+1: base × 6^(n-1), at most an hour (5 s, 30 s, 3 min … with the default base). */
const DEFAULT_RETRY_BASE_MS = 5_000;
const LOG_KEEP = 100;

type Stored = Record<string, unknown>;

/** A claimed `transport_deliveries` row. */
export interface DeliveryJob {
  id: number;
  export_id: number;
  run_id: number;
  owner_id: number;
  transport_index: number;
  type: string;
  /** The `_transports` entry as published (null only for rows queued before the migration). */
  transport: Stored | null;
  delivery_uuid: string;
  attempts: number;
  max_attempts: number;
}

const JOB_COLUMNS =
  'id, export_id, run_id, owner_id, transport_index, type, transport, delivery_uuid, attempts, max_attempts';

export interface DeliveryJobsDeps {
  db: Knex;
  storage: Storage;
  log: Logger;
  registry: TransportRegistry;
  secretKey: Buffer;
  publicUrl: string;
  /** Deliveries one worker runs at once (DELIVERY_CONCURRENCY), and per export owner (…_PER_OWNER). */
  concurrency?: number;
  concurrencyPerOwner?: number;
  /** Base of the retry back-off (tests pass a few milliseconds). */
  retryBaseMs?: number;
  /** Told how each delivery attempt of this process ended (the deliveries counter). */
  onEnded?: (type: string, outcome: 'done' | 'failed' | 'cancelled') => void;
}

/**
 * Claims one due delivery in one statement: a pending row whose `run_at` has come, of an owner not at its cap in
 * this worker, owners with fewer deliveries in progress (anywhere) first, then by due time. SKIP LOCKED: concurrent
 * workers never claim the same row and never wait for each other.
 */
const CLAIM_SQL = `
  with candidate as (
    select d.id from transport_deliveries d
    where d.state = 'pending' and d.run_at <= now() and d.owner_id <> all(?::bigint[])
    order by (select count(*) from transport_deliveries p where p.owner_id = d.owner_id and p.state = 'processing'),
      d.run_at, d.id
    limit 1 for update skip locked
  )
  update transport_deliveries d set state = 'processing', locked_by = ?, attempts = d.attempts + 1,
    lease_expires_at = now() + make_interval(secs => ?), updated_at = now()
  from candidate where d.id = candidate.id
  returning ${JOB_COLUMNS.split(', ')
    .map((c) => `d.${c}`)
    .join(', ')}`;

/**
 * Ends an attempt that failed: back to pending at `now() + base × 6^(attempts-1)` (at most an hour), or failed when
 * the attempts are used up or the failure is permanent (a refusal by policy gives the same answer every time).
 */
const FAIL_SQL = `
  update transport_deliveries set
    state = case when ?::boolean or attempts >= max_attempts then 'failed' else 'pending' end,
    failure_reason = case when ?::boolean or attempts >= max_attempts then ? else null end,
    run_at = now() + make_interval(secs => least(?::float8 * power(6, greatest(attempts - 1, 0)), 3600)),
    locked_by = null, lease_expires_at = null, updated_at = now()
  where id = ? and locked_by = ? and state = 'processing'
  returning state, attempts`;

/** Takeover: rows whose holder stopped renewing its lease are retried at once, or failed after max_attempts. */
const SWEEP_SQL = `
  with expired as (
    select id from transport_deliveries where state = 'processing' and lease_expires_at < now()
    for update skip locked
  )
  update transport_deliveries d set
    state = case when d.attempts >= d.max_attempts then 'failed' else 'pending' end,
    failure_reason = case when d.attempts >= d.max_attempts
      then 'The delivery was interrupted ' || d.attempts || ' times because the worker running it stopped responding.'
      else null end,
    run_at = now(), locked_by = null, lease_expires_at = null, updated_at = now()
  from expired where d.id = expired.id
  returning d.id, d.export_id, d.run_id, d.transport_index, d.type, d.state, d.attempts, d.failure_reason`;

export function deliveryJobs(deps: DeliveryJobsDeps): JobKind<DeliveryJob> {
  const { db } = deps;
  const retryBaseSecs = (deps.retryBaseMs ?? DEFAULT_RETRY_BASE_MS) / 1000;
  const ended = (type: string, outcome: 'done' | 'failed' | 'cancelled') => deps.onEnded?.(type, outcome);
  const logOf = (job: DeliveryJob) =>
    deps.log.child({
      export_id: job.export_id,
      run_id: job.run_id,
      attempt: job.attempts,
      delivery_id: job.id,
      transport: job.transport_index,
      type: job.type,
    });

  async function execute(job: DeliveryJob, workerId: string, signal: AbortSignal): Promise<void> {
    const log = logOf(job);
    const exp = (await db('exports').where({ id: job.export_id }).first()) as ExportRow | undefined;
    const run = (await db('runs').where({ id: job.run_id }).first(RUN_COLUMNS)) as RunRow | undefined;
    // Deleted meanwhile: the row went with it (cascade), there is nobody to deliver for.
    if (!exp || !run) return;
    const entry = job.transport ?? (exp.transports[job.transport_index] as Stored | undefined) ?? { type: job.type };
    const type = String(entry.type);
    const { registry, secretKey } = deps;
    let secrets: string[] = [];
    // Preparing (secrets, files, links) fails like the delivery itself would: recorded as this attempt's failure.
    try {
      secrets = secretValues(registry, entry, secretKey);
      const state = run.state === 'done' ? 'done' : 'failed';
      const files = state === 'done' ? await publishedFiles(db, run.id) : [];
      const ctx: DeliveryContext = {
        exportId: exp.id,
        exportName: exp.name,
        runId: run.id,
        runStartedAt: run.started_at ?? run.created_at,
        state,
        failureReason: state === 'failed' ? run.failure_reason : null,
        files: state === 'done' ? filesFor(exp, run, entry, files) : [],
        links: state === 'done' ? linksOf(exp, run, files) : [],
        customData: (exp.definition.custom_data as { key: string; value: string }[] | undefined) ?? [],
        email: (entry.email as TransportEmail | undefined) ?? null,
        ownerId: Number(exp.owner_id),
        deliveryId: job.delivery_uuid,
        signal,
        log: (message, info) => void appendLog(job, message, info),
      };
      signal.throwIfAborted();
      await registry.getTransport(type).deliver(deliveryOptions(registry, entry, secretKey), ctx);
    } catch (err) {
      if (signal.aborted) {
        // Stopped or deleted (the row is no longer ours), or a shutdown (the worker hands the row back): no write.
        log.info({ reason: String((signal.reason as Error | undefined)?.message ?? 'aborted') }, 'delivery aborted');
        ended(type, 'cancelled');
        return;
      }
      const reason = redact(
        isTransportError(err) ? err.message : `The ${type} delivery failed because of an internal error.`,
        secrets,
      );
      const cause = (err as { cause?: unknown }).cause;
      log.warn(
        { reason, cause: cause instanceof Error ? redact(cause.message, secrets) : undefined },
        'transport attempt failed',
      );
      await appendLog(job, `attempt ${job.attempts} failed`, { reason });
      const outcome = await failAttempt(job, workerId, reason, isPermanent(err));
      if (outcome === 'failed') {
        log.warn({ reason }, 'delivery failed');
        ended(type, 'failed');
      }
      return;
    }
    // Delivered: recorded even when a shutdown began meanwhile, so the next process does not deliver it again.
    if (await recordDone(job, workerId, log)) {
      log.info('transport delivered');
      ended(type, 'done');
    }
  }

  /**
   * The passkey links of the delivered run, mailed and sent in webhook bodies: those of the export's `download`
   * transports, naming the run. An export without a `download` transport has no anonymous link (R-ROB-6), so its
   * e-mails and webhooks carry none.
   */
  function linksOf(exp: ExportRow, run: RunRow, files: Awaited<ReturnType<typeof publishedFiles>>) {
    return offeredPackers(exp.transports).flatMap((p) => downloadLinks(exp, run.id, files, p, deps.publicUrl));
  }

  function filesFor(
    exp: ExportRow,
    run: RunRow,
    entry: Stored,
    files: Awaited<ReturnType<typeof publishedFiles>>,
  ): DeliveryFile[] {
    const prefix = run.files_prefix ?? '';
    const packer = deliveryPacker(entry);
    if (packer) return packedFiles(deps.storage, prefix, files, packer, exp.name, exp.id);
    return plainFiles(deps.storage, prefix, files);
  }

  async function finishDone(job: DeliveryJob, workerId: string): Promise<boolean> {
    return withTransaction(db, async (trx) => {
      const n = await trx('transport_deliveries')
        .where({ id: job.id, locked_by: workerId, state: 'processing' })
        .update({
          state: 'done',
          failure_reason: null,
          locked_by: null,
          lease_expires_at: null,
          updated_at: trx.fn.now(),
        });
      if (n === 1)
        await logEvent(trx, job.export_id, 'TRANSPORT_FINISH', {
          run_id: job.run_id,
          transport: job.transport_index,
          type: job.type,
        });
      return n === 1;
    });
  }

  /**
   * The delivery reached its destination: record it, retrying for a minute while the database is unreachable (the
   * lease keeps the row ours meanwhile unless it expires), because a delivery recorded as lost is delivered again.
   */
  async function recordDone(job: DeliveryJob, workerId: string, log: Logger): Promise<boolean> {
    for (let tries = 1; ; tries++) {
      try {
        return await finishDone(job, workerId);
      } catch (err) {
        if (!isConnectionError(err) || tries >= 60) throw err;
        if (tries === 1)
          log.warn(
            { reason: (err as Error).message },
            'delivered, but the database is unreachable; retrying to record it',
          );
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async function failAttempt(job: DeliveryJob, workerId: string, reason: string, permanent: boolean) {
    return withTransaction(db, async (trx) => {
      const { rows } = (await trx.raw(FAIL_SQL, [permanent, permanent, reason, retryBaseSecs, job.id, workerId])) as {
        rows: { state: string; attempts: number }[];
      };
      const row = rows[0];
      if (row?.state === 'failed') {
        await logEvent(trx, job.export_id, 'TRANSPORT_FAILED', {
          run_id: job.run_id,
          transport: job.transport_index,
          type: job.type,
          reason,
          attempts: row.attempts,
        });
      }
      return row?.state;
    });
  }

  async function appendLog(job: DeliveryJob, message: string, info?: Record<string, unknown>): Promise<void> {
    const line = storableJson([{ timestamp: new Date().toISOString(), message, ...(info ? { info } : {}) }]);
    await db
      .raw(
        `update transport_deliveries set updated_at = now(),
           log = (select coalesce(jsonb_agg(e order by n), '[]'::jsonb) from (
             select e, n from jsonb_array_elements(log || ?::jsonb) with ordinality as x(e, n)
             order by n desc limit ?) t)
         where id = ?`,
        [line, LOG_KEEP, job.id],
      )
      .catch((err) => logOf(job).warn({ message: (err as Error).message }, 'delivery log not written'));
  }

  return {
    name: 'delivery',
    concurrency: deps.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY,
    concurrencyPerOwner: deps.concurrencyPerOwner ?? DEFAULT_DELIVERY_CONCURRENCY_PER_OWNER,
    async claim(workerId, leaseMs, busyOwners) {
      const { rows } = (await db.raw(CLAIM_SQL, [busyOwners, workerId, leaseMs / 1000])) as { rows: DeliveryJob[] };
      return rows[0];
    },
    describe: (job) => ({
      id: Number(job.id),
      ownerId: Number(job.owner_id),
      fields: { export_id: job.export_id, run_id: job.run_id, attempt: job.attempts, delivery_id: job.id },
    }),
    execute,
    async heartbeat(jobs, workerId, leaseMs) {
      const rows = (await db('transport_deliveries')
        .whereIn(
          'id',
          jobs.map((j) => j.id),
        )
        .where({ locked_by: workerId, state: 'processing' })
        .update({
          lease_expires_at: db.raw('now() + make_interval(secs => ?)', [leaseMs / 1000]),
          updated_at: db.fn.now(),
        })
        .returning('id')) as { id: number }[];
      return new Set(rows.map((r) => Number(r.id)));
    },
    async handBack(jobs, workerId) {
      const ids = jobs.map((j) => j.id);
      const rows = (await db('transport_deliveries')
        .whereIn('id', ids)
        .where({ locked_by: workerId, state: 'processing' })
        .update({
          state: 'pending',
          locked_by: null,
          lease_expires_at: null,
          run_at: db.fn.now(),
          attempts: db.raw('greatest(attempts - 1, 0)'),
          updated_at: db.fn.now(),
        })
        .returning('id')) as { id: number }[];
      const back = new Set(rows.map((r) => Number(r.id)));
      for (const job of jobs.filter((j) => back.has(Number(j.id)))) {
        logOf(job).info('delivery handed back: the worker shuts down');
        await appendLog(job, 'handed back: the worker running it shut down');
      }
    },
    async sweepExpired() {
      await withTransaction(db, async (trx) => {
        const { rows } = (await trx.raw(SWEEP_SQL)) as {
          rows: {
            id: number;
            export_id: number;
            run_id: number;
            transport_index: number;
            type: string;
            state: string;
            attempts: number;
            failure_reason: string | null;
          }[];
        };
        for (const r of rows) {
          deps.log.warn(
            { export_id: r.export_id, run_id: r.run_id, attempt: r.attempts, delivery_id: r.id, state: r.state },
            'delivery taken over: its worker stopped responding',
          );
          if (r.state === 'failed') {
            await logEvent(trx, r.export_id, 'TRANSPORT_FAILED', {
              run_id: r.run_id,
              transport: r.transport_index,
              type: r.type,
              reason: r.failure_reason,
              attempts: r.attempts,
            });
          }
        }
      });
    },
  };
}

/**
 * Stops an export's deliveries from any instance (used by stop): their rows become failed, and the worker holding
 * one aborts it when the jobStopped signal arrives, or else at its next heartbeat (the row is no longer its).
 * Returns how many were stopped.
 */
export async function stopDeliveries(db: Knex, exportId: number, reason: string): Promise<number> {
  return withTransaction(db, async (trx) => {
    const rows = (await trx('transport_deliveries')
      .where({ export_id: exportId })
      .whereIn('state', ['pending', 'processing'])
      .update({
        state: 'failed',
        failure_reason: reason,
        locked_by: null,
        lease_expires_at: null,
        updated_at: trx.fn.now(),
      })
      .returning(['run_id', 'transport_index', 'type', 'attempts'])) as {
      run_id: number;
      transport_index: number;
      type: string;
      attempts: number;
    }[];
    for (const r of rows) {
      await logEvent(trx, exportId, 'TRANSPORT_FAILED', {
        run_id: r.run_id,
        transport: r.transport_index,
        type: r.type,
        reason,
        attempts: r.attempts,
      });
    }
    if (rows.length > 0) await sendSignal(trx, CHANNELS.jobStopped, `delivery:${exportId}`);
    return rows.length;
  });
}
