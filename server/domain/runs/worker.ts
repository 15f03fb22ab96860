import { hostname } from 'node:os';
import { nanoid } from 'nanoid';
import { RunAborted, type RunnerDeps, executeRun } from './runner.js';
import type { Progress } from './run-context.js';
import { claimRuns, heartbeat, type RunRow, sweepExpiredLeases } from './queue.js';
import { releaseRun } from './finish.js';
import { runPrefix } from '../storage-keys.js';
import { deleteSupersededFiles } from './housekeeping.js';
import { DatabaseOutage, isConnectionError } from '../../infra/db/outage.js';

export interface WorkerOptions {
  concurrency: number;
  leaseMs: number;
  /** How often idle workers look for pending runs. */
  pollMs?: number;
  /** Heartbeat period: also how fast a stop is noticed (R-EXP-7 wants < 2 s). */
  heartbeatMs?: number;
  sweepMs?: number;
  id?: string;
}

interface Active {
  run: RunRow;
  controller: AbortController;
  progress: Progress;
  done: Promise<void>;
}

/**
 * Claims runs from PostgreSQL and executes at most `concurrency` of them (R-ENG-1..3). Any number of workers in
 * any number of processes can share one database. A heartbeat every second extends each lease and doubles as the
 * stop check: when the run is no longer ours in the database, its AbortSignal fires.
 */
export class Worker {
  readonly id: string;
  private readonly active = new Map<number, Active>();
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private ticking = false;
  private readonly outage: DatabaseOutage;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly opts: WorkerOptions,
  ) {
    this.id = opts.id ?? `${hostname()}:${process.pid}:${nanoid(6)}`;
    this.outage = deps.outage ?? new DatabaseOutage(deps.log);
  }

  get activeRuns() {
    return [...this.active.keys()];
  }

  start(): void {
    const poll = this.opts.pollMs ?? 500;
    const sweep = this.opts.sweepMs ?? 5000;
    this.timers.push(setInterval(() => void this.tick(), poll));
    this.timers.push(setInterval(() => void this.heartbeats(), this.opts.heartbeatMs ?? 1000));
    // Jitter keeps many workers from sweeping in lock-step.
    this.timers.push(setInterval(() => void this.sweep(), sweep + Math.floor(Math.random() * 1000)));
    void this.tick();
  }

  /** Claims and launches as many runs as there are free slots. Public for tests that drive a worker by hand. */
  async tick(): Promise<void> {
    if (this.stopping || this.ticking) return;
    this.ticking = true;
    try {
      await this.outage.run('worker claims', async () => {
        // One claim per free slot, so each claim sees the previous one as processing and the fair order holds.
        while (!this.stopping && this.active.size < this.opts.concurrency) {
          const [run] = await claimRuns(this.deps.db, this.id, 1, this.opts.leaseMs);
          if (!run) break;
          this.launch(run);
        }
      });
    } catch (err) {
      this.deps.log.error({ err }, 'claiming runs failed');
    } finally {
      this.ticking = false;
    }
  }

  private launch(run: RunRow) {
    const controller = new AbortController();
    const progress: Progress = { objects_done: 0, objects_total: 0, files_done: 0, bytes_written: 0, percent: 0 };
    const entry: Active = { run, controller, progress, done: Promise.resolve() };
    entry.done = executeRun(this.deps, run, this.id, controller.signal, progress)
      .catch((err) => this.deps.log.error({ err, export_id: run.export_id, run_id: run.id, attempt: run.attempts }, 'run crashed'))
      .finally(() => {
        this.active.delete(run.id);
        void this.tick();
      });
    this.active.set(run.id, entry);
  }

  private async heartbeats(): Promise<void> {
    for (const entry of this.active.values()) {
      if (entry.controller.signal.aborted) continue;
      try {
        const ours = await this.outage.run('heartbeat', () =>
          heartbeat(this.deps.db, entry.run, this.id, this.opts.leaseMs, entry.progress),
        );
        // undefined: the database is unreachable; the lease decides once it is back.
        if (ours === false) entry.controller.abort(new RunAborted('the run was stopped or taken over'));
      } catch (err) {
        this.deps.log.warn({ err, export_id: entry.run.export_id, run_id: entry.run.id, attempt: entry.run.attempts }, 'heartbeat failed');
      }
    }
  }

  /** Each step on its own: one that fails (for one row or altogether) is logged and does not skip the others. */
  async sweep(): Promise<void> {
    // A lost connection pauses the whole sweep (one log line per back-off step); any other failure is one step's.
    const step = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        if (isConnectionError(err)) throw err;
        this.deps.log.error({ err, step: name }, 'sweeping failed');
      }
    };
    try {
      await this.outage.run('sweep', async () => {
        await step('leases', async () => {
          const { failed } = await sweepExpiredLeases(this.deps.db);
          for (const run of failed) {
            await this.deps.storage
              .deletePrefix(runPrefix(run))
              .catch((err) => this.deps.log.error({ err, export_id: run.export_id, run_id: run.id, attempt: run.attempts }, 'staging not removed'));
          }
        });
        const { PREVIOUS_RUNS_TTL: ttlMs, PREVIOUS_RUNS_KEPT: kept } = this.deps.config;
        await step('superseded files', () => deleteSupersededFiles(this.deps.db, this.deps.storage, { ttlMs, kept }));
        await step('hooks', async () => this.deps.onSweep?.());
      });
    } catch (err) {
      this.deps.log.error({ err }, 'sweeping failed');
    }
  }

  /**
   * Graceful stop (R-RUN-5): no new claims; running exports are aborted and handed back to the queue without
   * counting the attempt, so another worker picks them up at once.
   */
  async stop(): Promise<void> {
    const entries = await this.halt('worker shutting down');
    for (const e of entries) await releaseRun(this.deps.db, e.run, this.id).catch(() => {});
  }

  /** Simulates a crash for tests: timers stop and runs are abandoned without any database update. */
  async crashForTest(): Promise<void> {
    await this.halt('crash');
  }

  /** Stops the timers and aborts every active run; resolves once their executions have returned. */
  private async halt(reason: string): Promise<Active[]> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const entries = [...this.active.values()];
    for (const e of entries) e.controller.abort(new RunAborted(reason));
    await Promise.all(entries.map((e) => e.done));
    return entries;
  }
}
