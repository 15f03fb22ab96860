/**
 * Validated schedules → a compact matcher used by next-fire.ts.
 *
 * Every schedule becomes bit masks for months / days of month / weekdays plus a sorted list of minutes of the day
 * (hour * 60 + minute). A day check is then a few bit tests, and a day's candidate times are a ready sorted array,
 * which keeps `nextFireAfter` cheap for 10,000 exports per tick.
 */
import { parseCronFields } from './cron-fields.js';
import { isCronSchedule, parseDefaultTime, type ScheduleInput, WEEKDAYS } from './schema.js';

export interface CompiledSchedule {
  monthMask: number; // bit m-1 for month m
  domMask: number; // bit d-1 for day d
  weekdayMask: number; // bit w for weekday w (0 = Sunday)
  /** classic cron: both day fields restricted → a day matches either; otherwise both masks must match. */
  dayOr: boolean;
  minutesOfDay: number[]; // sorted, unique
}

export interface CompiledSchedules {
  readonly schedules: readonly CompiledSchedule[];
  /** Union of all month masks, so day iteration can jump over whole months no schedule uses. */
  readonly monthMask: number;
}

const ALL_MONTHS = (1 << 12) - 1;
const ALL_DAYS = 0x7fffffff; // 31 bits
const ALL_WEEKDAYS = (1 << 7) - 1;

const maskOf = (values: readonly number[], offset: number): number =>
  values.reduce((mask, v) => mask | (1 << (v - offset)), 0);

const minutesOf = (hours: readonly number[], minutes: readonly number[]): number[] =>
  [...new Set(hours.flatMap((h) => minutes.map((m) => h * 60 + m)))].sort((a, b) => a - b);

const compileOne = (s: ScheduleInput, defaultTime: { hour: number; minute: number }): CompiledSchedule => {
  if (isCronSchedule(s)) {
    const f = parseCronFields(s.cron);
    return {
      monthMask: maskOf(f.months, 1),
      domMask: maskOf(f.daysOfMonth, 1),
      weekdayMask: maskOf(f.weekdays, 0),
      dayOr: f.dayOr,
      minutesOfDay: minutesOf(f.hours, f.minutes),
    };
  }
  return {
    monthMask: ALL_MONTHS,
    domMask: s.days_of_month ? maskOf(s.days_of_month, 1) : ALL_DAYS,
    weekdayMask: s.weekdays
      ? maskOf(
          s.weekdays.map((w) => WEEKDAYS.indexOf(w)),
          0,
        )
      : ALL_WEEKDAYS,
    dayOr: false, // R-SCHED-1: both day lists must match
    minutesOfDay: minutesOf(s.hours ?? [defaultTime.hour], s.minutes ?? [defaultTime.minute]),
  };
};

// Schedules arrive as fresh JSON objects from the database on every tick, so cache by content. Bounded: cleared
// when full rather than LRU, which is good enough for a working set of ~10,000 exports.
const CACHE_LIMIT = 20_000;
const cache = new Map<string, CompiledSchedules>();

/**
 * Compiles validated schedules (see `validateSchedules`) with the configured default time ("HH:MM").
 * Throws a plain Error on input that did not pass validation (a programming or data error, not user input).
 */
export const compileSchedules = (schedules: readonly ScheduleInput[], defaultTime = '03:00'): CompiledSchedules => {
  const key = `${defaultTime}|${JSON.stringify(schedules)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const time = parseDefaultTime(defaultTime);
  const compiled = schedules.map((s) => compileOne(s, time));
  const result: CompiledSchedules = Object.freeze({
    schedules: compiled,
    monthMask: compiled.reduce((mask, s) => mask | s.monthMask, 0),
  });
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, result);
  return result;
};

/** Whether a schedule runs on a local day (month 1..12, day 1..31, weekday 0 = Sunday). */
export const matchesDay = (s: CompiledSchedule, month: number, day: number, weekday: number): boolean => {
  if ((s.monthMask & (1 << (month - 1))) === 0) return false;
  const dom = (s.domMask & (1 << (day - 1))) !== 0;
  const dow = (s.weekdayMask & (1 << weekday)) !== 0;
  return s.dayOr ? dom || dow : dom && dow;
};
