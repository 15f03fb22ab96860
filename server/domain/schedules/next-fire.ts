/**
 * Fire times of compiled schedules, as UTC instants, evaluated in an IANA zone.
 *
 * How: walk local calendar days; for a day some schedule matches, take the union of the matching schedules' sorted
 * minutes of the day and map them to instants with `wallToInstant` (DST rule: overlap → first occurrence, gap → the
 * first instant after the gap; see zone-time.ts). That map is non-decreasing within a day, so the first time after /
 * last time before an instant is found by binary search (≤ 11 conversions even for an every-minute schedule), and
 * wall times collapsing onto one instant (all of 02:00–02:59 in a spring-forward gap → 03:00) yield ONE fire.
 * Several schedules are a union: a time in two schedules fires once.
 *
 * Search horizon: `nextFireAfter` looks at most HORIZON_DAYS ahead and then returns null. 8 years, not 4, so that a
 * Feb 29 cron line still finds its next fire across the skipped leap year 2100; a day that matches nothing costs
 * a few bit tests and months no schedule uses are skipped whole, so even a schedule that never fires is cheap.
 */
import type { IANAZone } from 'luxon';
import { type CompiledSchedules, matchesDay } from './compile.js';
import { type LocalDay, localDayFromNumber, localDayOf, wallToInstant, zoneFor } from './zone-time.js';

const HORIZON_DAYS = 8 * 366;
/** Default cap of `firesBetween`, so a wide window over an every-minute schedule cannot build a huge array. */
const DEFAULT_MAX_FIRES = 1000;

const toMs = (d: Date, name: string): number => {
  const ms = d.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`${name} is an invalid Date`);
  return ms;
};

/** Sorted unique minutes of the day on which any schedule fires on this local day, or null. */
const candidatesFor = (compiled: CompiledSchedules, day: LocalDay): readonly number[] | null => {
  let found: readonly number[] | null = null;
  let merged: Set<number> | null = null;
  for (const s of compiled.schedules) {
    if (!matchesDay(s, day.month, day.day, day.weekday)) continue;
    if (found === null) found = s.minutesOfDay;
    else {
      merged ??= new Set(found);
      for (const m of s.minutesOfDay) merged.add(m);
    }
  }
  return merged ? [...merged].sort((a, b) => a - b) : found;
};

/** Index of the first candidate whose instant is > t (candidates.length if none). */
const firstAfter = (zone: IANAZone, dayNumber: number, candidates: readonly number[], t: number): number => {
  let lo = 0;
  let hi = candidates.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (wallToInstant(zone, dayNumber, candidates[mid]) > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
};

/** Next local day number whose month some schedule uses (jumps to the 1st of the next used month). */
const nextUsedDay = (compiled: CompiledSchedules, dayNumber: number): number => {
  let n = dayNumber;
  for (let i = 0; i < 13; i++) {
    const d = localDayFromNumber(n);
    if (compiled.monthMask & (1 << (d.month - 1))) return n;
    n = Math.round(Date.UTC(d.year, d.month, 1) / 86_400_000);
  }
  return n; // no month used at all; the caller's horizon ends the search
};

/** The first fire strictly after `after`, or null if there is none within HORIZON_DAYS. */
export const nextFireAfter = (compiled: CompiledSchedules, tz: string, after: Date): Date | null => {
  const t = toMs(after, 'after');
  if (compiled.schedules.length === 0 || compiled.monthMask === 0) return null;
  const zone = zoneFor(tz);
  // Start a day early: near a DST change around midnight a candidate of the previous local day can still be ahead.
  const start = localDayOf(zone, t).dayNumber - 1;
  for (let n = nextUsedDay(compiled, start); n <= start + HORIZON_DAYS; n = nextUsedDay(compiled, n + 1)) {
    const day = localDayFromNumber(n);
    const candidates = candidatesFor(compiled, day);
    if (!candidates) continue;
    const i = firstAfter(zone, n, candidates, t);
    if (i < candidates.length) return new Date(wallToInstant(zone, n, candidates[i]));
  }
  return null;
};

/** All fires in (from, to], ascending and unique, at most `max` of them (the earliest ones). */
export const firesBetween = (
  compiled: CompiledSchedules,
  tz: string,
  from: Date,
  to: Date,
  max = DEFAULT_MAX_FIRES,
): Date[] => {
  const fromMs = toMs(from, 'from');
  const toMsValue = toMs(to, 'to');
  const out: Date[] = [];
  if (toMsValue <= fromMs || max <= 0 || compiled.schedules.length === 0 || compiled.monthMask === 0) return out;
  const zone = zoneFor(tz);
  const last = localDayOf(zone, toMsValue).dayNumber + 1;
  let previous = fromMs; // fires must be strictly after this: the window start, then the previous fire
  for (
    let n = nextUsedDay(compiled, localDayOf(zone, fromMs).dayNumber - 1);
    n <= last;
    n = nextUsedDay(compiled, n + 1)
  ) {
    const candidates = candidatesFor(compiled, localDayFromNumber(n));
    if (!candidates) continue;
    for (let i = firstAfter(zone, n, candidates, previous); i < candidates.length; i++) {
      const ts = wallToInstant(zone, n, candidates[i]);
      if (ts > toMsValue) return out;
      if (ts <= previous) continue; // several gap times collapsed onto the previous instant
      out.push(new Date(ts));
      previous = ts;
      if (out.length >= max) return out;
    }
  }
  return out;
};

/**
 * The latest fire in (from, to], or null. Walks days backwards from `to`, so its cost is bounded by the window size
 * and independent of how many fires the window holds (used for catch-up after downtime).
 */
export const latestFireBetween = (compiled: CompiledSchedules, tz: string, from: Date, to: Date): Date | null => {
  const fromMs = toMs(from, 'from');
  const toMsValue = toMs(to, 'to');
  if (toMsValue <= fromMs || compiled.schedules.length === 0) return null;
  const zone = zoneFor(tz);
  const first = localDayOf(zone, fromMs).dayNumber - 1;
  for (let n = localDayOf(zone, toMsValue).dayNumber + 1; n >= first; n--) {
    const candidates = candidatesFor(compiled, localDayFromNumber(n));
    if (!candidates) continue;
    const i = firstAfter(zone, n, candidates, toMsValue) - 1; // last candidate at or before `to`
    if (i < 0) continue;
    const ts = wallToInstant(zone, n, candidates[i]);
    return ts > fromMs ? new Date(ts) : null; // earlier days only hold earlier instants
  }
  return null;
};
