/**
 * Runs an export's transports after its run (R-TR-1):
 * - after a successful run (the runner's `onPublished`), every `_transports` entry is delivered, all in parallel,
 *   each with 3 attempts and back-off (a permanent failure such as a destination refused by policy ends at the
 *   first); after a failed run (`onFailed`) only the `email` entries whose `notify` covers failures;
 * - one `transport_deliveries` row per run and entry is the source of `_transports[i]._state`, `_failure_reason`
 *   and `_log`; a failure logs TRANSPORT_FAILED on the export, a success TRANSPORT_FINISH. The export's state and
 *   files are never touched by a delivery;
 * - at most `concurrency` attempts run at once in this process, `concurrencyPerOwner` of them for one owner
 *   (DeliverySlots); the others wait as `pending`;
 * - deliveries run in the background of the worker process (the run's slot is free again at once). A watchdog
 *   touches their rows every second; a row another instance marked failed (stop) or removed (delete) aborts the
 *   delivery here, and rows whose process died are failed by `sweepStaleDeliveries`;
 * - secrets are decrypted in memory only for `deliver`; failure reasons are redacted against them again before they
 *   are stored or logged (R-TR-4), and errors are logged by message, never as objects carrying options.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { withTransaction } from '../../infra/db/transaction.js';
import type { DatabaseOutage } from '../../infra/db/outage.js';
import type { Logger } from '../../infra/logger.js';
import type { Storage } from '../../infra/storage/storage.js';
import { logEvent } from '../event-log.js';
import type { ExportRow } from '../rows.js';
import { publishedFiles } from '../exports/export-repo.js';
import { setExpiry } from '../runs/expiry.js';
import { RUN_COLUMNS, type RunRow } from '../runs/queue.js';
import { storableJson } from '../text.js';
import { packedFiles, plainFiles } from './delivery-files.js';
import { DeliverySlots } from './delivery-slots.js';
import { downloadLinks, downloadPackers } from './download-links.js';
import { isPermanent, isTransportError, redact } from './failure.js';
import type { Packer, TransportRegistry } from './registry.js';
import { deliveryOptions, secretValues } from './stored-transports.js';
import type { DeliveryContext, DeliveryFile, TransportEmail } from './transport.js';

export const DELIVERY_ATTEMPTS = 3;
/** Waits before attempt 2 and 3. */
export const DEFAULT_RETRY_DELAYS_MS = [5_000, 30_000];
/** A delivery row not touched for this long belongs to a process that died. */
const STALE_AFTER = '2 minutes';
const LOG_KEEP = 100;

/** Transports that send the run's files somewhere and so can pack them. */
const PACKABLE = new Set(['directory', 'sftp', 'ftp', 's3', 'url']);

export interface DeliveryRunnerDeps {
  db: Knex;
  storage: Storage;
  log: Logger;
  registry: TransportRegistry;
  secretKey: Buffer;
  publicUrl: string;
  exportTtlDays: number;
  /** Back-off before attempts 2, 3 (tests pass small values). */
  retryDelaysMs?: readonly number[];
  watchdogMs?: number;
  /** Deliveries running at once in this process (DELIVERY_CONCURRENCY), and per export owner. */
  concurrency?: number;
  concurrencyPerOwner?: number;
  /** Shared back-off of the process's background loops while the database is unreachable. */
  outage?: DatabaseOutage;
  /** Told how each delivery this process ran ended (the deliveries counter). */
  onEnded?: (type: string, outcome: 'done' | 'failed' | 'cancelled') => void;
}

export const DEFAULT_DELIVERY_CONCURRENCY = 8;
export const DEFAULT_DELIVERY_CONCURRENCY_PER_OWNER = 4;

interface Active {
  deliveryId: number;
  exportId: number;
  controller: AbortController;
}

type Stored = Record<string, unknown>;

export class DeliveryRunner {
  private readonly active = new Map<number, Active>();
  private readonly tasks = new Set<Promise<void>>();
  private watchdog: NodeJS.Timeout | null = null;
  private readonly slots: DeliverySlots;

  constructor(private readonly deps: DeliveryRunnerDeps) {
    this.slots = new DeliverySlots(
      deps.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY,
      deps.concurrencyPerOwner ?? DEFAULT_DELIVERY_CONCURRENCY_PER_OWNER,
    );
  }

  /** Hook for RunnerDeps.onPublished. Returns once the deliveries are recorded; they run in the background. */
  onPublished = async (run: RunRow): Promise<void> => {
    await setExpiry(this.deps.db, this.deps.exportTtlDays, run.export_id);
    const exp = (await this.deps.db('exports').where({ id: run.export_id }).first()) as ExportRow | undefined;
    if (!exp || exp.transports.length === 0) return;
    const fresh = (await this.deps.db('runs').where({ id: run.id }).first(RUN_COLUMNS)) as RunRow | undefined;
    if (!fresh) return;
    const indexes = exp.transports.map((_, i) => i);
    await this.launch(exp, fresh, indexes, { state: 'done', failureReason: null });
  };

  /** Hook for RunnerDeps.onFailed: e-mail notifications of a failed run (notify failure|always). */
  onFailed = async (run: RunRow, reason: string): Promise<void> => {
    const exp = (await this.deps.db('exports').where({ id: run.export_id }).first()) as ExportRow | undefined;
    if (!exp) return;
    const indexes = exp.transports
      .map((t, i) => ({ t: t as Stored, i }))
      .filter(({ t }) => t.type === 'email' && ((t.options as Stored | undefined)?.notify ?? 'always') !== 'success')
      .map(({ i }) => i);
    if (indexes.length === 0) return;
    const fresh = ((await this.deps.db('runs').where({ id: run.id }).first(RUN_COLUMNS)) as RunRow | undefined) ?? run;
    await this.launch(exp, fresh, indexes, { state: 'failed', failureReason: reason });
  };

  /** Aborts this process's deliveries of an export (other instances notice through the watchdog). */
  abortExport(exportId: number): void {
    for (const a of this.active.values()) if (a.exportId === exportId) a.controller.abort(new Error('export stopped or deleted'));
  }

  /** Deliveries in flight in this process, including those waiting for a slot. */
  get inFlight(): number {
    return this.active.size;
  }

  /** Waits for every delivery started by this process (tests). */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** Graceful shutdown: abort in-flight deliveries (recorded as failed with a reason) and wait for them. */
  async stop(): Promise<void> {
    for (const a of this.active.values()) a.controller.abort(new Error('server shutting down'));
    await this.idle();
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private async launch(exp: ExportRow, run: RunRow, indexes: number[], outcome: { state: 'done' | 'failed'; failureReason: string | null }) {
    const rows = (await this.deps.db('transport_deliveries')
      .insert(
        indexes.map((i) => ({
          export_id: exp.id,
          run_id: run.id,
          transport_index: i,
          type: String((exp.transports[i] as Stored).type),
        })),
      )
      .onConflict(['run_id', 'transport_index'])
      .ignore()
      .returning(['id', 'transport_index'])) as { id: number; transport_index: number }[];
    if (rows.length === 0) return;
    const files = outcome.state === 'done' ? await publishedFiles(this.deps.db, run.id) : [];
    const links = outcome.state === 'done' ? this.linksOf(exp, run, files) : [];
    this.ensureWatchdog();
    for (const row of rows) {
      const controller = new AbortController();
      this.active.set(row.id, { deliveryId: row.id, exportId: exp.id, controller });
      const entry = exp.transports[row.transport_index] as Stored;
      const task = this.deliver(exp, run, entry, row.id, row.transport_index, outcome, files, links, controller.signal)
        .catch((err) => this.deps.log.error({ export_id: exp.id, run_id: run.id, delivery_id: row.id, message: (err as Error).message }, 'delivery crashed'))
        .finally(() => {
          this.active.delete(row.id);
          this.tasks.delete(task);
        });
      this.tasks.add(task);
    }
  }

  /**
   * The passkey links of the delivered run, mailed and sent in webhook bodies: those of the export's `download`
   * transports, naming the run. An export without a `download` transport has no anonymous link (R-ROB-6), so its
   * e-mails and webhooks carry none.
   */
  private linksOf(exp: ExportRow, run: RunRow, files: Awaited<ReturnType<typeof publishedFiles>>) {
    return downloadPackers(exp.transports).flatMap((p) => downloadLinks(exp, run.id, files, p, this.deps.publicUrl));
  }

  private filesFor(exp: ExportRow, run: RunRow, entry: Stored, files: Awaited<ReturnType<typeof publishedFiles>>): DeliveryFile[] {
    const prefix = run.files_prefix ?? '';
    const packer = entry.packer as Packer | undefined;
    if (packer && PACKABLE.has(String(entry.type))) return packedFiles(this.deps.storage, prefix, files, packer, exp.name, exp.id);
    return plainFiles(this.deps.storage, prefix, files);
  }

  private async deliver(
    exp: ExportRow,
    run: RunRow,
    entry: Stored,
    deliveryId: number,
    index: number,
    outcome: { state: 'done' | 'failed'; failureReason: string | null },
    files: Awaited<ReturnType<typeof publishedFiles>>,
    links: { url: string; size: number | null }[],
    signal: AbortSignal,
  ): Promise<void> {
    const { db, registry, secretKey } = this.deps;
    const type = String(entry.type);
    const transport = registry.getTransport(type);
    const secrets = secretValues(registry, entry, secretKey);
    const log = this.deps.log.child({ export_id: exp.id, run_id: run.id, delivery_id: deliveryId, transport: index, type });
    const ended = (outcome: 'done' | 'failed' | 'cancelled') => this.deps.onEnded?.(type, outcome);
    const ctx: DeliveryContext = {
      exportId: exp.id,
      exportName: exp.name,
      runId: run.id,
      runStartedAt: run.started_at ?? run.created_at,
      state: outcome.state,
      failureReason: outcome.failureReason,
      files: outcome.state === 'done' ? this.filesFor(exp, run, entry, files) : [],
      links,
      customData: (exp.definition.custom_data as { key: string; value: string }[] | undefined) ?? [],
      email: (entry.email as TransportEmail | undefined) ?? null,
      ownerId: Number(exp.owner_id),
      deliveryId: randomUUID(),
      signal,
      log: (message, info) => void this.appendLog(deliveryId, message, info),
    };
    let reason = 'The delivery failed.';
    for (let attempt = 1; attempt <= DELIVERY_ATTEMPTS; attempt++) {
      // Each attempt holds a slot (R-ROB-8); a waiting delivery stays `pending`, the back-off holds none.
      const release = await this.slots.acquire(ctx.ownerId ?? 0, signal);
      if (!release) {
        ended('cancelled');
        return this.cancelled(deliveryId, signal);
      }
      const outcome = await this.attempt(deliveryId, attempt, () => transport.deliver(deliveryOptions(registry, entry, secretKey), ctx), {
        signal,
        type,
        secrets,
        log,
      }).finally(release);
      if (outcome === 'done' || outcome === 'cancelled') return ended(outcome);
      reason = outcome.reason;
      if (outcome.permanent) {
        // A refusal by policy (destination, mail cap) gives the same answer every time: fail now (R-ROB-5).
        await endDeliveries(db, (q) => q.where({ id: deliveryId }), 'failed', reason, { attempts: attempt });
        log.warn({ attempt, reason }, 'delivery failed');
        return ended('failed');
      }
      if (attempt < DELIVERY_ATTEMPTS) await sleep(this.delay(attempt), signal);
    }
    await endDeliveries(db, (q) => q.where({ id: deliveryId }), 'failed', reason, { attempts: DELIVERY_ATTEMPTS });
    log.warn({ attempt: DELIVERY_ATTEMPTS, reason }, 'delivery failed');
    ended('failed');
  }

  /** One attempt: 'done' or 'cancelled' when the delivery is finished, else why it failed. */
  private async attempt(
    deliveryId: number,
    attempt: number,
    run: () => Promise<void>,
    o: { signal: AbortSignal; type: string; secrets: string[]; log: Logger },
  ): Promise<'done' | 'cancelled' | { reason: string; permanent: boolean }> {
    const { db } = this.deps;
    if (o.signal.aborted || !(await this.claimAttempt(deliveryId, attempt))) {
      await this.cancelled(deliveryId, o.signal);
      return 'cancelled';
    }
    try {
      await run();
      await endDeliveries(db, (q) => q.where({ id: deliveryId, state: 'processing' }), 'done', null);
      o.log.info({ attempt }, 'transport delivered');
      return 'done';
    } catch (err) {
      if (o.signal.aborted) {
        await this.cancelled(deliveryId, o.signal);
        return 'cancelled';
      }
      const reason = redact(
        isTransportError(err) ? err.message : `The ${o.type} delivery failed because of an internal error.`,
        o.secrets,
      );
      const cause = (err as { cause?: unknown }).cause;
      o.log.warn(
        { attempt, reason, cause: cause instanceof Error ? redact(cause.message, o.secrets) : undefined },
        'transport attempt failed',
      );
      await this.appendLog(deliveryId, `attempt ${attempt} failed`, { reason });
      return { reason, permanent: isPermanent(err) };
    }
  }

  private delay(attempt: number): number {
    const delays = this.deps.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    return delays[Math.min(attempt - 1, delays.length - 1)] ?? 0;
  }

  /** Starts an attempt; false when the delivery was stopped or deleted meanwhile (checked between attempts). */
  private async claimAttempt(deliveryId: number, attempt: number): Promise<boolean> {
    const { db } = this.deps;
    const n = await db('transport_deliveries')
      .where({ id: deliveryId })
      .whereIn('state', ['pending', 'processing'])
      .update({ state: 'processing', attempts: attempt, updated_at: db.fn.now() });
    return n === 1;
  }

  private async cancelled(deliveryId: number, signal: AbortSignal) {
    const { db } = this.deps;
    const why = String((signal.reason as Error | undefined)?.message ?? '');
    const reason =
      why === 'server shutting down'
        ? 'The delivery was interrupted because the server shut down.'
        : 'The delivery was cancelled because the export was stopped or deleted.';
    await endDeliveries(db, (q) => q.where({ id: deliveryId }), 'failed', reason).catch(() => {});
  }

  private async appendLog(deliveryId: number, message: string, info?: Record<string, unknown>): Promise<void> {
    const { db } = this.deps;
    const line = storableJson([{ timestamp: new Date().toISOString(), message, ...(info ? { info } : {}) }]);
    await db
      .raw(
        `update transport_deliveries set updated_at = now(),
           log = (select coalesce(jsonb_agg(e order by n), '[]'::jsonb) from (
             select e, n from jsonb_array_elements(log || ?::jsonb) with ordinality as x(e, n)
             order by n desc limit ?) t)
         where id = ?`,
        [line, LOG_KEEP, deliveryId],
      )
      .catch((err) => this.deps.log.warn({ message: (err as Error).message }, 'delivery log not written'));
  }

  private ensureWatchdog() {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => void this.watch(), this.deps.watchdogMs ?? 1000);
    this.watchdog.unref();
  }

  /** Keeps our rows fresh and aborts deliveries whose row was failed (stop) or removed (delete) elsewhere. */
  private async watch(): Promise<void> {
    const ids = [...this.active.keys()];
    if (ids.length === 0) return;
    try {
      const { db } = this.deps;
      const run = this.deps.outage ? this.deps.outage.run.bind(this.deps.outage) : <T>(_: string, fn: () => Promise<T>) => fn();
      const alive = await run('delivery watchdog', () =>
        db('transport_deliveries')
        .whereIn('id', ids)
        .whereIn('state', ['pending', 'processing'])
        .update({ updated_at: db.fn.now() })
        .returning('id'),
      ) as { id: number }[] | undefined;
      if (!alive) return;
      const keep = new Set(alive.map((r) => r.id));
      for (const id of ids) if (!keep.has(id)) this.active.get(id)?.controller.abort(new Error('export stopped or deleted'));
    } catch (err) {
      this.deps.log.warn({ message: (err as Error).message }, 'delivery watchdog failed');
    }
  }
}

/**
 * Stops an export's deliveries from any instance (used by stop): their rows become failed, and the process running
 * them aborts within a second (watchdog). Returns how many were stopped.
 */
export async function stopDeliveries(db: Knex, exportId: number, reason: string): Promise<number> {
  return (await endDeliveries(db, (q) => q.where({ export_id: exportId }), 'failed', reason)).length;
}

/** Sweep: deliveries whose process died (row not touched for STALE_AFTER) are failed with a reason. */
export async function sweepStaleDeliveries(db: Knex): Promise<number> {
  const reason = 'The delivery was interrupted because the server running it stopped responding.';
  const stale = (q: Knex.QueryBuilder) => q.whereRaw(`updated_at < now() - interval '${STALE_AFTER}'`);
  return (await endDeliveries(db, stale, 'failed', reason)).length;
}

/**
 * Ends the active deliveries that `scope` selects with `state` and logs TRANSPORT_FINISH / TRANSPORT_FAILED on their
 * export in the same transaction, so a reader never sees a finished delivery without its log entry.
 */
async function endDeliveries(
  db: Knex,
  scope: (q: Knex.QueryBuilder) => Knex.QueryBuilder,
  state: 'done' | 'failed',
  reason: string | null,
  info: Record<string, unknown> = {},
) {
  return withTransaction(db, async (trx) => {
    const rows = (await scope(trx('transport_deliveries'))
      .whereIn('state', ['pending', 'processing'])
      .update({ state, failure_reason: reason, updated_at: trx.fn.now() })
      .returning(['export_id', 'run_id', 'transport_index', 'type'])) as {
      export_id: number;
      run_id: number;
      transport_index: number;
      type: string;
    }[];
    for (const r of rows) {
      const base = { run_id: r.run_id, transport: r.transport_index, type: r.type };
      if (state === 'done') await logEvent(trx, r.export_id, 'TRANSPORT_FINISH', base);
      else await logEvent(trx, r.export_id, 'TRANSPORT_FAILED', { ...base, reason, ...info });
    }
    return rows;
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
