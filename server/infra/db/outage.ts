import type { Logger } from '../logger.js';
import { pgCode } from './pg-errors.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
// 57P01..03: admin/crash shutdown, cannot connect now; 3D000: the database is gone; 53300: too many connections.
const SERVER_GONE = new Set(['57P01', '57P02', '57P03', '3D000', '53300']);
const DRIVER_MESSAGES =
  /Connection terminated|Connection ended unexpectedly|connection error|timeout exceeded when trying to connect|Timeout acquiring a connection|Client was closed/i;

/** Whether `err` says the database cannot be reached (as opposed to a query that failed on a working connection). */
export function isConnectionError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = pgCode(e);
    if (code && (NETWORK_CODES.has(code) || SERVER_GONE.has(code) || code.startsWith('08'))) return true;
    if ((e as Error).name === 'KnexTimeoutError' || DRIVER_MESSAGES.test(String((e as Error).message ?? '')))
      return true;
  }
  return false;
}

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
