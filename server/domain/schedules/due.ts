/**
 * What the scheduler ticker enqueues (R-SCHED-3, R-SCHED-4).
 *
 * Every instance runs a ticker (every few seconds, or node-cron `* * * * *`); for each export it calls `dueFires` with
 * the time it last looked and the current time. The returned value is the SCHEDULED fire instant, not "now": every
 * instance computes the same instant for the same fire, so the unique `(export_id, fire_time)` insert lets exactly
 * one instance enqueue (STYLE practice 9) however late or early each one ticks.
 *
 * Rules:
 * - Fires in (lastCheckedAt, now] are candidates; the latest one is returned. Several fires in one window (a slow
 *   tick, or downtime) produce ONE run: the latest missed slot, not one per slot (R-SCHED-4).
 * - Fires older than `now - max(catchupMs, ON_TIME_GRACE_MS)` are dropped: after a long outage nothing older than
 *   `SCHEDULE_CATCHUP` is caught up. The grace keeps an ordinary late tick (GC pause, a once-a-minute node-cron tick)
 *   from losing its on-time fire even when catch-up is configured to 0 ("no catch-up").
 * - A window where lastCheckedAt >= now yields nothing (clock stepped back: better skip than double-fire; the unique
 *   fire record would stop a duplicate anyway).
 */
import type { CompiledSchedules } from './compile.js';
import { latestFireBetween } from './next-fire.js';

/** How late a fire may be noticed and still count as on time, independent of the catch-up setting. */
export const ON_TIME_GRACE_MS = 60_000;

export const dueFires = (
  compiled: CompiledSchedules,
  tz: string,
  lastCheckedAt: Date,
  now: Date,
  catchupMs: number,
): Date | null => {
  if (!Number.isFinite(catchupMs) || catchupMs < 0) throw new RangeError('catchupMs must be a non-negative number');
  const oldestAllowed = now.getTime() - Math.max(catchupMs, ON_TIME_GRACE_MS);
  const from = new Date(Math.max(lastCheckedAt.getTime(), oldestAllowed));
  return latestFireBetween(compiled, tz, from, now);
};
