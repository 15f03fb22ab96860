/**
 * Wall-clock ⇄ instant conversion in an IANA zone, with the DST rule schedules rely on.
 *
 * The rule (R-SCHED-1, "a 02:30 run on a DST day runs once, not zero or two times"):
 * - a wall time that happens twice (fall-back overlap) resolves to its FIRST occurrence (the earlier instant);
 * - a wall time that does not exist (spring-forward gap) resolves to the first instant after the gap
 *   (Europe/Berlin 2026-03-29 02:30 → 03:00 CEST = 01:00Z).
 * With this rule the map wall time → instant is non-decreasing within a day, which lets callers binary-search a day's
 * sorted candidate times, and several gap times collapsing onto the same instant are deduplicated by "strictly after".
 *
 * We use luxon's `IANAZone.offset(ts)` (one cached Intl formatter per zone) instead of `DateTime.fromObject`, because
 * luxon's own gap handling shifts forward by the gap length (02:30 → 03:30, not the 03:00 we document) and we want
 * the overlap choice pinned down by our own code and tests; and because this runs for thousands of exports a tick.
 */
import { IANAZone } from 'luxon';
import { invalidValue } from '../errors.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A local calendar day; `dayNumber` counts days since 1970-01-01 so days can be stepped and compared cheaply. */
export interface LocalDay {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
  weekday: number; // 0 = Sunday … 6 = Saturday (cron numbering)
  dayNumber: number;
}

const zones = new Map<string, IANAZone>();

/** Returns the luxon zone for an IANA name; an unknown name is a 400 on `export.timezone` (stored data went bad). */
export const zoneFor = (tz: string): IANAZone => {
  // isValidZone builds an Intl.DateTimeFormat each call; remember the answer per name (a handful of zones in use).
  let zone = zones.get(tz);
  if (!zone) {
    if (!IANAZone.isValidZone(tz)) throw invalidValue('export.timezone', `Unknown IANA time zone: ${tz}`);
    zone = IANAZone.create(tz);
    zones.set(tz, zone);
  }
  return zone;
};

// luxon's `offset(ts)` goes through Intl.DateTimeFormat#formatToParts, ~10 µs a call: too slow for 10,000 exports per
// tick. Offsets change at most a few times a year and never twice within one UTC day, so per zone and UTC day we
// cache the offset at midnight and, on a day whose two midnights differ, the instant of the change (found once by
// binary search). Every later lookup is arithmetic; that matters most on DST nights, when every export of a zone
// hits the transition at once. Bounded per zone, cleared when full: the working set is a few days around "now".
const DAY_CACHE_LIMIT = 50_000;
interface UtcDayOffsets {
  before: number; // offset in ms from this midnight …
  after: number; // … and from `change` on (equal to `before` on most days)
  change: number; // instant of the offset change; +Infinity when there is none
}
const dayOffsets = new Map<string, Map<number, UtcDayOffsets>>();

const offsetsOfUtcDay = (zone: IANAZone, utcDay: number): UtcDayOffsets => {
  let byDay = dayOffsets.get(zone.name);
  if (!byDay) {
    byDay = new Map();
    dayOffsets.set(zone.name, byDay);
  }
  let info = byDay.get(utcDay);
  if (info === undefined) {
    const start = utcDay * DAY_MS;
    const before = zone.offset(start) * MINUTE_MS;
    const after = zone.offset(start + DAY_MS) * MINUTE_MS;
    let change = Number.POSITIVE_INFINITY;
    if (before !== after) {
      // First second in the day with the new offset.
      let lo = start; // has `before`
      let hi = start + DAY_MS; // has `after`
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (zone.offset(mid) * MINUTE_MS === before) lo = mid;
        else hi = mid;
      }
      change = hi;
    }
    info = { before, after, change };
    if (byDay.size >= DAY_CACHE_LIMIT) byDay.clear();
    byDay.set(utcDay, info);
  }
  return info;
};

/** Zone offset in milliseconds at an instant. */
const offsetMs = (zone: IANAZone, ts: number): number => {
  const info = offsetsOfUtcDay(zone, Math.floor(ts / DAY_MS));
  return ts < info.change ? info.before : info.after;
};

export const localDayFromNumber = (dayNumber: number): LocalDay => {
  const d = new Date(dayNumber * DAY_MS);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    weekday: d.getUTCDay(),
    dayNumber,
  };
};

/** The local calendar day (in `zone`) that contains the instant `ts`. */
export const localDayOf = (zone: IANAZone, ts: number): LocalDay =>
  localDayFromNumber(Math.floor((ts + offsetMs(zone, ts)) / DAY_MS));

/**
 * The instant of local wall time `minuteOfDay` on local day `dayNumber`, by the rule in the file comment.
 * Assumes at most one offset change within ±1 day of the wall time (true for every real zone's future rules).
 */
export const wallToInstant = (zone: IANAZone, dayNumber: number, minuteOfDay: number): number => {
  const wall = dayNumber * DAY_MS + minuteOfDay * MINUTE_MS;
  const before = offsetMs(zone, wall - DAY_MS);
  const after = offsetMs(zone, wall + DAY_MS);
  if (before === after && offsetMs(zone, wall - before) === before) return wall - before; // the usual case
  let best = Number.POSITIVE_INFINITY;
  for (const o of new Set([before, after, offsetMs(zone, wall)])) {
    const ts = wall - o;
    if (offsetMs(zone, ts) === o && ts < best) best = ts; // the wall time exists with this offset
  }
  if (best !== Number.POSITIVE_INFINITY) return best; // overlap → the earliest occurrence
  return gapEnd(zone, wall, Math.min(before, after), Math.max(before, after));
};

/**
 * The wall time is in a gap: find the first instant whose wall clock reads later than `wall` (the transition).
 * Binary search over seconds between the two candidate instants (cheap: offsets come from the day cache).
 */
const gapEnd = (zone: IANAZone, wall: number, lowOffset: number, highOffset: number): number => {
  let lo = wall - highOffset; // wall clock here still reads before `wall`
  let hi = wall - lowOffset; // wall clock here already reads after `wall`
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (mid === lo) break;
    if (mid + offsetMs(zone, mid) > wall) hi = mid;
    else lo = mid;
  }
  return hi;
};
