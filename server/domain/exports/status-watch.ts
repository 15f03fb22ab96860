import type { Knex } from 'knex';
import { z } from 'zod';
import type { Logger } from '../../infra/logger.js';
import { notFound, userError } from '../errors.js';
import { intParam, parseQuery } from '../query-params.js';
import { type ExportStatus, readStatus, readStatuses } from './export-status.js';

/** Long-polls one user may hold at once in one process; more answer 429 (a page follows one export, scripts few). */
export const MAX_WAITS_PER_USER = 8;
/** How often the shared check reads the statuses of all awaited exports (one statement for all of them). */
const STATUS_POLL_MS = 500;
/** The most exports one check statement asks for; more are read in several statements. */
const CHUNK = 1000;

const statusQuery = z.object({
  wait: z.string().max(100).optional(),
  timeout: intParam(1, 30, 25),
});

interface Waiter {
  ownerId: number;
  exportId: number;
  last: ExportStatus;
  timer: NodeJS.Timeout;
  done: (result: ExportStatus | 'gone' | null) => void;
}

/**
 * The status long-poll (`GET …/export/<id>/status?wait=<_changed>&timeout=`). A waiting request holds no database
 * connection: every STATUS_POLL_MS one shared check reads the statuses of all exports anybody waits for in one
 * statement (none while nobody waits), and answers the waiters whose status changed. Polling rather than LISTEN:
 * runs change state in worker processes, and their heartbeat writes would otherwise all need to notify. A change is
 * seen within STATUS_POLL_MS; waits are bounded per user (MAX_WAITS_PER_USER, per process).
 */
export class StatusWatch {
  private readonly waiters = new Map<number, Set<Waiter>>();
  private readonly perUser = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private failing = false;

  private released = false;

  constructor(private readonly deps: { db: Knex; log: Logger; pollMs?: number; maxPerUser?: number }) {}

  /**
   * The status now, or, when `wait` equals its `_changed`, as soon as it differs (or unchanged after `timeout`
   * seconds). Null when `signal` aborted (the client went away): its wait is released at once.
   */
  async follow(ownerId: number, exportId: number, query: unknown, signal: AbortSignal): Promise<ExportStatus | null> {
    const q = parseQuery(statusQuery, query);
    const now = await readStatus(this.deps.db, ownerId, exportId);
    // After close (shutdown drain) nobody waits: a follower's next wait would hold the closing server open.
    if (q.wait === undefined || q.wait !== now._changed || this.released) return now;
    if (signal.aborted) return null;
    const result = await this.wait(ownerId, now, q.timeout * 1000, signal);
    if (result === 'gone') throw notFound('export', exportId);
    return result;
  }

  /** What is pending, for tests and shutdown: waits, users holding waits, and whether the check timer runs. */
  pending() {
    let waits = 0;
    for (const set of this.waiters.values()) waits += set.size;
    return { waits, users: this.perUser.size, polling: this.timer !== null };
  }

  /**
   * Shutdown: answers every wait with the status it last read, and every later request at once, so nothing holds a
   * connection open for 30 s while the server drains.
   */
  close(): void {
    this.released = true;
    this.releaseAll();
  }

  /** Answers every wait with the status it last read. */
  releaseAll(): void {
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.done(w.last);
  }

  private wait(ownerId: number, current: ExportStatus, timeoutMs: number, signal: AbortSignal) {
    const max = this.deps.maxPerUser ?? MAX_WAITS_PER_USER;
    const held = this.perUser.get(ownerId) ?? 0;
    if (held >= max) {
      throw userError(
        429,
        'too_many_waits',
        `At most ${max} status waits per user at a time; retry or read without wait`,
        {
          limit: max,
          retry_after: 2,
        },
      );
    }
    return new Promise<ExportStatus | 'gone' | null>((resolve) => {
      const onAbort = () => w.done(null);
      const w: Waiter = {
        ownerId,
        exportId: current._id,
        last: current,
        timer: setTimeout(() => w.done(w.last), timeoutMs),
        done: (result) => {
          clearTimeout(w.timer);
          signal.removeEventListener('abort', onAbort);
          const set = this.waiters.get(w.exportId);
          if (!set?.delete(w)) return; // answered already
          if (set.size === 0) this.waiters.delete(w.exportId);
          const left = (this.perUser.get(ownerId) ?? 1) - 1;
          if (left > 0) this.perUser.set(ownerId, left);
          else this.perUser.delete(ownerId);
          if (this.waiters.size === 0) this.stopTimer();
          resolve(result);
        },
      };
      let set = this.waiters.get(w.exportId);
      if (!set) {
        set = new Set();
        this.waiters.set(w.exportId, set);
      }
      set.add(w);
      this.perUser.set(ownerId, held + 1);
      signal.addEventListener('abort', onAbort, { once: true });
      this.timer ??= setInterval(() => void this.check(), this.deps.pollMs ?? STATUS_POLL_MS);
    });
  }

  private stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One shared check; a slow one is not overlapped by the next tick. A failed check leaves every wait waiting. */
  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const ids = [...this.waiters.keys()];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        const statuses = await readStatuses(this.deps.db, chunk);
        for (const id of chunk) {
          const status = statuses.get(id);
          for (const w of [...(this.waiters.get(id) ?? [])]) {
            if (!status) w.done('gone');
            else if (status._changed !== w.last._changed) w.done(status);
          }
        }
      }
      this.failing = false;
    } catch (err) {
      // Logged once per outage, not every half second; the waits still end at their timeout.
      if (!this.failing) this.deps.log.warn({ err }, 'status check failed; waits continue until their timeout');
      this.failing = true;
    } finally {
      this.checking = false;
    }
  }
}
