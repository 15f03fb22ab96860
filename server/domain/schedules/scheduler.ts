/**
 * The database-facing half of schedules (R-SCHED-2..5): a ticker that every worker/all process runs.
 *
 * Strategy (graphile-worker's cron, STYLE practice 9):
 * - All state lives in PostgreSQL: `exports.schedules`, `exports.next_run_at` (`_next_run`) and
 *   `exports.schedule_checked_at` (the instant up to which fires were considered). A tick only reads exports whose
 *   `next_run_at <= now` (partial index), so an idle tick is one cheap query and every instance sees schedule
 *   changes on its next tick (R-SCHED-5, R-SCALE-2: within ~1 s, well below 5 s); a change's NOTIFY makes every
 *   scheduler tick at once, the period being the fallback when it is lost.
 * - For a due export, `dueFires(compiled, tz, schedule_checked_at, now, SCHEDULE_CATCHUP)` gives ONE fire instant:
 *   the scheduled instant (not "now"), the same on every instance, and after downtime only the latest missed one
 *   within the catch-up window (R-SCHED-4).
 * - Exactly once: `insert into schedule_fires (export_id, fire_time) … on conflict do nothing`. Only the instance
 *   whose insert wins enqueues; a concurrent loser waits on the winner's unique-index entry and then sees a conflict.
 * - If the export's previous run is still active, `enqueueRun` returns null (partial unique index): the winner records
 *   the fire as skipped and logs EXPORT_SKIPPED once.
 * - Every instance then moves `next_run_at` to the next fire after now, guarded by `version` so a tick that read
 *   stale schedules never overwrites what `refresh` computed for a newer version.
 *
 * The run belongs to `exports.owner_id`; no session is involved, so expired sessions never stop schedules.
 */
import type { Knex } from 'knex';
import { DatabaseOutage } from '../../infra/db/outage.js';
import type { Logger } from '../../infra/logger.js';
import { withTransaction } from '../../infra/db/transaction.js';
import { logEvent } from '../event-log.js';
import { CHANNELS, sendSignal, type Signals } from '../signals.js';
import { enqueueRun } from '../runs/lifecycle.js';
import { compileSchedules, dueFires, nextFireAfter, ON_TIME_GRACE_MS, type ScheduleInput } from './index.js';

export interface SchedulerDeps {
  db: Knex;
  log: Logger;
  /** SCHEDULE_DEFAULT_TIME ("HH:MM"). */
  defaultTime: string;
  /** SCHEDULE_CATCHUP in ms. */
  catchupMs: number;
  /** Used when an export has no timezone stored (TZ of the server or UTC). */
  defaultTimezone: string;
  /** Injected clock for tests; no test waits for a real minute. */
  now?: () => Date;
  /** Shared back-off of the process's background loops while the database is unreachable. */
  outage?: DatabaseOutage;
  /** NOTIFY of schedule changes on any instance: the scheduler ticks at once instead of at its next period. */
  signals?: Signals;
}

export interface SchedulerOptions {
  /** Ticker period; 1 s keeps fires within a second of their time and changes visible everywhere within 5 s. */
  tickMs?: number;
  /** Exports per transaction. */
  batchSize?: number;
  /** Transactions run in parallel within one tick (each on its own pooled connection). */
  parallel?: number;
}

export interface TickResult {
  examined: number;
  queued: number;
  skipped: number;
}

interface DueRow {
  id: number;
  owner_id: number;
  version: number;
  schedules: ScheduleInput[];
  timezone?: string | null;
  schedule_checked_at: Date | null;
  created_at: Date;
  /** Set when the definition could not be read (see loadTimezones). */
  unreadable?: boolean;
}

interface Plan {
  row: DueRow;
  fire: Date | null;
  trigger: 'schedule' | 'catchup';
  next: Date | null;
}

export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<TickResult> | null = null;
  private stopped = false;
  /** A tick was asked for during a pass that may have read the rows before the change: one more pass follows. */
  private again = false;
  private unsubscribe: (() => void) | null = null;
  readonly now: () => Date;
  private readonly outage: DatabaseOutage;

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly opts: SchedulerOptions = {},
  ) {
    this.now = deps.now ?? (() => new Date());
    this.outage = deps.outage ?? new DatabaseOutage(deps.log);
  }

  start(): void {
    this.stopped = false;
    void this.outage
      .run('schedule refresh', () => this.refreshUnscheduled())
      .catch((err) => this.deps.log.error({ err }, 'schedule refresh failed'));
    const every = this.opts.tickMs ?? 1000;
    const tick = () =>
      void this.outage.run('schedule tick', () => this.tick()).catch((err) => this.deps.log.error({ err }, 'schedule tick failed'));
    this.timer = setInterval(tick, every);
    const soon = () => {
      if (this.running) this.again = true;
      else tick();
    };
    this.unsubscribe = this.deps.signals?.subscribe(CHANNELS.schedulesChanged, soon, soon) ?? null;
    tick();
  }

  /** Graceful stop: no new ticks; an ongoing tick finishes its transactions. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /** One pass over the due exports. Overlapping calls share the pass in progress. Public for tests. */
  tick(): Promise<TickResult> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.outage.run('schedule tick', () => this.tick()).catch((err) => this.deps.log.error({ err }, 'schedule tick failed'));
      }
    });
    return this.running;
  }

  /**
   * Recomputes `_next_run` after a create/update (ExportService.onSchedulesChanged), inside the caller's transaction
   * when one is given, so a change and its bookkeeping commit (or fail) together. Fires before the change are not
   * caught up: the checked instant moves to now.
   */
  async refresh(exportId: number, db: Knex = this.deps.db): Promise<void> {
    // The whole definition comes back as JSON text parsed by the driver: no PostgreSQL text conversion of its
    // values, so a row stored before input was checked cannot make this fail.
    const row = (await db('exports').where({ id: exportId }).first('id', 'schedules', 'definition')) as
      | (Pick<DueRow, 'id' | 'schedules'> & { definition: { timezone?: unknown } | null })
      | undefined;
    if (!row) return;
    const now = this.now();
    const timezone = typeof row.definition?.timezone === 'string' ? row.definition.timezone : null;
    const next = row.schedules.length === 0 ? null : this.nextAfter({ ...row, timezone }, now);
    await db('exports')
      .where({ id: exportId })
      .update({ next_run_at: next, schedule_checked_at: row.schedules.length === 0 ? null : now });
    // Delivered at the commit of the caller's transaction: every instance's scheduler ticks at once.
    await sendSignal(db, CHANNELS.schedulesChanged, String(exportId));
  }

  /** Exports with schedules but no evaluation yet (created before the scheduler existed, or seeded by SQL). */
  async refreshUnscheduled(): Promise<void> {
    const rows = (await this.deps.db('exports')
      .whereNull('schedule_checked_at')
      .whereRaw("schedules <> '[]'::jsonb")
      .select('id')) as { id: number }[];
    for (const { id } of rows) {
      // One export that cannot be planned must not keep the others unplanned.
      await this.refresh(id).catch((err) => this.deps.log.error({ err, export_id: id }, 'schedule refresh failed'));
    }
  }

  private nextAfter(row: Pick<DueRow, 'id' | 'schedules' | 'timezone'>, after: Date): Date | null {
    try {
      return nextFireAfter(this.compiled(row), row.timezone || this.deps.defaultTimezone, after);
    } catch (err) {
      // Stored data that no longer compiles (e.g. a zone removed from the tz database): never fire, never loop.
      this.deps.log.error({ err, export_id: row.id }, 'schedule could not be evaluated');
      return null;
    }
  }

  private compiled(row: Pick<DueRow, 'schedules'>) {
    return compileSchedules(row.schedules, this.deps.defaultTime);
  }

  private async pass(): Promise<TickResult> {
    const result: TickResult = { examined: 0, queued: 0, skipped: 0 };
    const now = this.now();
    const batchSize = this.opts.batchSize ?? 500;
    const parallel = this.opts.parallel ?? 4;
    let afterId = 0;
    while (!this.stopped) {
      // Keyset by id so a row whose update was skipped (stale version) cannot keep one pass busy.
      const rows = (await this.deps.db('exports')
        .where('next_run_at', '<=', now)
        .andWhere('id', '>', afterId)
        .orderBy('id')
        .limit(batchSize * parallel)
        .select('id', 'owner_id', 'version', 'schedules', 'schedule_checked_at', 'created_at')) as DueRow[];
      if (rows.length === 0) break;
      afterId = rows[rows.length - 1]!.id;
      await this.loadTimezones(rows);
      const chunks: DueRow[][] = [];
      for (let i = 0; i < rows.length; i += batchSize) chunks.push(rows.slice(i, i + batchSize));
      const results = await Promise.all(chunks.map((chunk) => this.processBatch(chunk, now)));
      for (const r of results) {
        result.examined += r.examined;
        result.queued += r.queued;
        result.skipped += r.skipped;
      }
      if (rows.length < batchSize * parallel) break;
    }
    return result;
  }

  /**
   * Fills in each row's time zone (kept in the `json` definition). One statement for the batch; if it fails, one per
   * row, so a row PostgreSQL cannot read as text (stored before input was checked, or by hand) is isolated: it is
   * logged, marked unreadable and never fires, while every other owner's schedules go on (R-ROB-6).
   */
  private async loadTimezones(rows: DueRow[]): Promise<void> {
    const select = (db: Knex, ids: number[]) =>
      db('exports')
        .whereIn('id', ids)
        .select('id', db.raw("definition->>'timezone' as timezone")) as Promise<{ id: number; timezone: string | null }[]>;
    const byId = new Map(rows.map((r) => [r.id, r]));
    try {
      for (const t of await select(this.deps.db, [...byId.keys()])) byId.get(t.id)!.timezone = t.timezone;
      return;
    } catch (err) {
      this.deps.log.warn({ err, rows: rows.length }, 'due exports could not be read together; reading them one by one');
    }
    for (const row of rows) {
      try {
        const [t] = await select(this.deps.db, [row.id]);
        row.timezone = t?.timezone ?? null;
      } catch (err) {
        this.deps.log.error({ err, export_id: row.id }, 'export definition cannot be read; its schedules are suspended');
        row.unreadable = true;
      }
    }
  }

  private plan(row: DueRow, now: Date): Plan {
    const tz = row.timezone || this.deps.defaultTimezone;
    // next_run_at becomes null: the row is no longer due, so it is not retried every tick; an update recomputes it.
    if (row.unreadable) return { row, fire: null, trigger: 'schedule', next: null };
    try {
      const compiled = this.compiled(row);
      const checked = row.schedule_checked_at ?? row.created_at;
      const fire = dueFires(compiled, tz, checked, now, this.deps.catchupMs);
      const late = fire !== null && now.getTime() - fire.getTime() > ON_TIME_GRACE_MS;
      return { row, fire, trigger: late ? 'catchup' : 'schedule', next: nextFireAfter(compiled, tz, now) };
    } catch (err) {
      this.deps.log.error({ err, export_id: row.id }, 'schedule could not be evaluated');
      return { row, fire: null, trigger: 'schedule', next: null };
    }
  }

  private async processBatch(rows: DueRow[], now: Date): Promise<TickResult> {
    const plans = rows.map((row) => this.plan(row, now));
    const firing = plans.filter((p) => p.fire !== null).sort((a, b) => a.row.id - b.row.id);
    return withTransaction(this.deps.db, async (trx) => {
      const out: TickResult = { examined: rows.length, queued: 0, skipped: 0 };
      let winners: { export_id: number; fire_time: Date }[] = [];
      if (firing.length > 0) {
        // The exactly-once decision. Rows in export order, so concurrent instances take index entries in one order.
        const { rows: won } = (await trx.raw(
          `insert into schedule_fires (export_id, fire_time, trigger)
           select * from unnest(?::bigint[], ?::timestamptz[], ?::text[])
           on conflict (export_id, fire_time) do nothing
           returning export_id, fire_time`,
          [firing.map((p) => p.row.id), firing.map((p) => p.fire!.toISOString()), firing.map((p) => p.trigger)],
        )) as { rows: { export_id: number; fire_time: Date }[] };
        winners = won;
      }
      const byId = new Map(firing.map((p) => [p.row.id, p]));
      const queuedIds: number[] = [];
      const queuedRuns: number[] = [];
      for (const w of winners.sort((a, b) => a.export_id - b.export_id)) {
        const p = byId.get(w.export_id)!;
        const run = await enqueueRun(trx, p.row, p.trigger, p.fire);
        if (run) {
          queuedIds.push(p.row.id);
          queuedRuns.push(run.id);
          out.queued++;
        } else {
          out.skipped++;
          await trx('schedule_fires').where({ export_id: p.row.id, fire_time: p.fire! }).update({ outcome: 'skipped' });
          await logEvent(trx, p.row.id, 'EXPORT_SKIPPED', {
            fire_time: p.fire!.toISOString(),
            trigger: p.trigger,
            reason: 'The previous run was still pending or processing.',
          });
        }
      }
      if (queuedIds.length > 0) {
        await trx.raw(
          `update schedule_fires f set run_id = v.run_id
           from unnest(?::bigint[], ?::bigint[], ?::timestamptz[]) as v(export_id, run_id, fire_time)
           where f.export_id = v.export_id and f.fire_time = v.fire_time`,
          [queuedIds, queuedRuns, queuedIds.map((id) => byId.get(id)!.fire!.toISOString())],
        );
      }
      // Every instance moves next_run_at on; the version guard drops updates computed from stale schedules.
      await trx.raw(
        `update exports e set next_run_at = v.next_run_at,
           schedule_checked_at = greatest(coalesce(e.schedule_checked_at, ?::timestamptz), ?::timestamptz)
         from unnest(?::bigint[], ?::int[], ?::timestamptz[]) as v(id, version, next_run_at)
         where e.id = v.id and e.version = v.version`,
        [
          now.toISOString(),
          now.toISOString(),
          plans.map((p) => p.row.id),
          plans.map((p) => p.row.version),
          plans.map((p) => (p.next ? p.next.toISOString() : null)) as string[],
        ],
      );
      return out;
    });
  }
}
