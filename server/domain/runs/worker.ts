import { hostname } from 'node:os';
import { nanoid } from 'nanoid';
import { DatabaseOutage, isConnectionError } from '../../infra/db/outage.js';
import type { Logger } from '../../infra/logger.js';
import { CHANNELS, type Signals } from '../signals.js';
import { JobAborted, type JobKind } from './job-kind.js';

export interface WorkerOptions {
  leaseMs: number;
  /** How often idle workers look for due jobs. */
  pollMs?: number;
  /** Heartbeat period: also how fast a stop or delete is noticed (R-EXP-7 wants < 2 s). */
  heartbeatMs?: number;
  sweepMs?: number;
  id?: string;
}

export interface WorkerDeps {
  log: Logger;
  /** The job kinds this worker executes (runs, deliveries), handed in by compose.ts. */
  kinds: JobKind<unknown>[];
  /** Housekeeping of the periodic sweep after the lease takeovers (old files, expiry, sessions …). */
  housekeeping?: Record<string, () => Promise<unknown>>;
  /** Shared back-off of the process's background loops while the database is unreachable. */
  outage?: DatabaseOutage;
  /**
   * NOTIFY from every instance: a stop or delete makes the worker check its jobs at once (the heartbeat remains the
   * fallback), a queued job makes it claim at once (the poll remains the fallback).
   */
  signals?: Signals;
}

interface Active {
  kind: JobKind<unknown>;
  job: unknown;
  id: number;
  ownerId: number;
  fields: Record<string, unknown>;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Claims jobs of every kind from PostgreSQL and executes at most each kind's `concurrency` of them (R-ENG-1..3,
 * R-ROB-8). Any number of workers in any number of processes can share one database. A heartbeat every second
 * renews each job's lease and doubles as the stop check: a job that is no longer ours in the database (stopped,
 * deleted, taken over) has its AbortSignal fired. A stop's NOTIFY runs that check at once (R-SCALE-2). The periodic
 * sweep takes over the jobs whose lease expired.
 */
export class Worker {
  readonly id: string;
  private readonly active = new Map<string, Active>();
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private ticking = false;
  private beating = false;
  private beatAgain = false;
  /** A claim was asked for during a tick: one more tick follows, so a job queued meanwhile is not left to the poll. */
  private tickAgain = false;
  private unsubscribe: (() => void)[] = [];
  private readonly outage: DatabaseOutage;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly opts: WorkerOptions,
  ) {
    this.id = opts.id ?? `${hostname()}:${process.pid}:${nanoid(6)}`;
    this.outage = deps.outage ?? new DatabaseOutage(deps.log);
  }

  /** Ids of the runs this worker executes. */
  get activeRuns(): number[] {
    return this.entries('run').map((e) => e.id);
  }

  /** How many jobs of `kind` this worker executes right now. */
  activeCount(kind: string): number {
    return this.entries(kind).length;
  }

  start(): void {
    const poll = this.opts.pollMs ?? 500;
    const sweep = this.opts.sweepMs ?? 5000;
    this.timers.push(setInterval(() => void this.tick(), poll));
    this.timers.push(setInterval(() => void this.heartbeats(), this.opts.heartbeatMs ?? 1000));
    // Jitter keeps many workers from sweeping in lock-step.
    this.timers.push(setInterval(() => void this.sweep(), sweep + Math.floor(Math.random() * 1000)));
    const signals = this.deps.signals;
    if (signals) {
      // After a lost listening connection, signals sent meanwhile are gone: check and claim once, now.
      const catchUp = () => {
        void this.heartbeats();
        void this.tick();
      };
      this.unsubscribe = [
        signals.subscribe(CHANNELS.jobStopped, () => void this.heartbeats(), catchUp),
        signals.subscribe(CHANNELS.jobQueued, () => void this.tick()),
      ];
    }
    void this.tick();
  }

  /** Claims and launches as many jobs as there are free slots. Public for tests that drive a worker by hand. */
  async tick(): Promise<void> {
    if (this.stopping) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    this.tickAgain = false;
    try {
      await this.outage.run('worker claims', async () => {
        for (const kind of this.deps.kinds) {
          // One claim per free slot, so each claim sees the previous one as processing and the fair order holds.
          while (!this.stopping && this.entries(kind.name).length < kind.concurrency) {
            const job = await kind.claim(this.id, this.opts.leaseMs, this.busyOwners(kind));
            if (job === undefined) break;
            // A stop that began while we awaited the claim has already taken its snapshot: give this one back now.
            if (this.stopping) {
              await kind
                .handBack([job], this.id)
                .catch((err) => this.deps.log.warn({ err, kind: kind.name }, 'job not handed back; its lease expires'));
              break;
            }
            this.launch(kind, job);
          }
        }
      });
    } catch (err) {
      this.deps.log.error({ err }, 'claiming jobs failed');
    } finally {
      this.ticking = false;
      if (this.tickAgain) void this.tick();
    }
  }

  private entries(kind: string): Active[] {
    return [...this.active.values()].filter((e) => e.kind.name === kind);
  }

  /** Owners at their cap of `kind` in this worker: the next claim skips their jobs. */
  private busyOwners(kind: JobKind<unknown>): number[] {
    const counts = new Map<number, number>();
    for (const e of this.entries(kind.name)) counts.set(e.ownerId, (counts.get(e.ownerId) ?? 0) + 1);
    return [...counts].filter(([, n]) => n >= kind.concurrencyPerOwner).map(([owner]) => owner);
  }

  private launch(kind: JobKind<unknown>, job: unknown) {
    const { id, ownerId, fields } = kind.describe(job);
    const key = `${kind.name}:${id}`;
    const controller = new AbortController();
    const entry: Active = { kind, job, id, ownerId, fields, controller, done: Promise.resolve() };
    entry.done = kind
      .execute(job, this.id, controller.signal)
      .catch((err) => this.deps.log.error({ err, ...fields }, `${kind.name} crashed`))
      .finally(() => {
        this.active.delete(key);
        void this.tick();
      });
    this.active.set(key, entry);
  }

  /** One pass at a time: notifications can arrive in bursts (one per stopped or deleted export anywhere). */
  private async heartbeats(): Promise<void> {
    if (this.beating) {
      this.beatAgain = true;
      return;
    }
    this.beating = true;
    try {
      do {
        this.beatAgain = false;
        await this.heartbeatPass();
      } while (this.beatAgain && !this.stopping);
    } finally {
      this.beating = false;
    }
  }

  private async heartbeatPass(): Promise<void> {
    for (const kind of this.deps.kinds) {
      const entries = this.entries(kind.name).filter((e) => !e.controller.signal.aborted);
      if (entries.length === 0) continue;
      try {
        const ours = await this.outage.run(`${kind.name} heartbeat`, () =>
          kind.heartbeat(
            entries.map((e) => e.job),
            this.id,
            this.opts.leaseMs,
          ),
        );
        // undefined: the database is unreachable; the lease decides once it is back.
        if (!ours) continue;
        for (const e of entries) {
          if (ours.has(e.id) || e.controller.signal.aborted) continue;
          this.deps.log.info({ ...e.fields, worker: this.id }, `${kind.name} no longer ours (stopped, deleted or taken over): aborting`);
          e.controller.abort(new JobAborted(`the ${kind.name} was stopped, deleted or taken over`));
        }
      } catch (err) {
        this.deps.log.warn({ err, kind: kind.name, jobs: entries.map((e) => e.fields) }, 'heartbeat failed');
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
        for (const kind of this.deps.kinds) await step(`${kind.name} leases`, () => kind.sweepExpired());
        const steps = Object.entries(this.deps.housekeeping ?? {});
        const results = await Promise.allSettled(steps.map(([name, fn]) => step(name, fn)));
        const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (lost) throw lost.reason;
      });
    } catch (err) {
      this.deps.log.error({ err }, 'sweeping failed');
    }
  }

  /**
   * Graceful stop (R-RUN-5): no new claims; jobs in progress are aborted and handed back to the queue without
   * counting the attempt, so another worker picks them up at once.
   */
  async stop(): Promise<void> {
    const entries = await this.halt('worker shutting down');
    for (const kind of this.deps.kinds) {
      const mine = entries.filter((e) => e.kind === kind);
      if (mine.length === 0) continue;
      await kind
        .handBack(
          mine.map((e) => e.job),
          this.id,
        )
        .catch((err) =>
          this.deps.log.warn({ err, kind: kind.name, jobs: mine.map((e) => e.fields) }, 'jobs not handed back; their leases expire'),
        );
    }
  }

  /** Stops the timers and aborts every active job; resolves once their executions have returned. */
  private async halt(reason: string): Promise<Active[]> {
    this.stopping = true;
    for (const off of this.unsubscribe.splice(0)) off();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const entries = [...this.active.values()];
    for (const e of entries) e.controller.abort(new JobAborted(reason));
    await Promise.all(entries.map((e) => e.done));
    return entries;
  }
}
