import type { Logger } from '../logger.js';
import { isConnectionError } from './pg-errors.js';

// Defined with the other PostgreSQL classifications; re-exported for the loops and the log lines that ask.
export { isConnectionError };

export interface OutageOptions {
  firstDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
}

/**
 * Shared by every background loop of a process (worker claims, job heartbeats, sweeps, schedule ticks).
 * When the database is unreachable the loops pause together and retry with exponential back-off
 * (1 s, 2 s, 4 s … 60 s); each step is logged once, instead of every loop logging a stack trace every tick.
 */
export class DatabaseOutage {
  private step = 0;
  private since = 0;
  private nextTry = 0;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;

  constructor(
    private readonly log: Logger,
    opts: OutageOptions = {},
  ) {
    this.firstDelayMs = opts.firstDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  get down(): boolean {
    return this.step > 0;
  }

  /**
   * One round of a loop: skipped while the next try is not due; a connection failure pauses every loop sharing
   * this tracker and returns undefined; any other error is the caller's to report.
   */
  async run<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.now() < this.nextTry) return undefined;
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      this.failed(what, err);
      return undefined;
    }
    this.succeeded();
    return result;
  }

  /** Records a connection failure seen outside `run` (e.g. a request); logs only when it starts a new step. */
  failed(what: string, err: unknown): void {
    const now = this.now();
    // Another loop already reported this step.
    if (now < this.nextTry) return;
    if (this.step === 0) this.since = now;
    this.step++;
    const delay = Math.min(this.firstDelayMs * 2 ** (this.step - 1), this.maxDelayMs);
    this.nextTry = now + delay;
    this.log.warn(
      {
        step: this.step,
        retry_in_ms: delay,
        down_for_ms: now - this.since,
        source: what,
        reason: (err as Error)?.message,
      },
      'database unreachable; background work paused until the next try',
    );
  }

  succeeded(): void {
    if (this.step === 0) return;
    this.log.info({ down_for_ms: this.now() - this.since, steps: this.step }, 'database reachable again');
    this.step = 0;
    this.nextTry = 0;
  }
}
