/**
 * Validation of `_schedules` and `export.timezone` (R-SCHED-1).
 *
 * Two shapes are accepted per element:
 * - `{"weekdays": ["monday", …], "days_of_month": [1…31], "hours": [0…23], "minutes": [0…59]}`, every key optional.
 *   Missing weekdays / days_of_month = every day. Missing hours / minutes = the hour / minute of the configured
 *   default time (`SCHEDULE_DEFAULT_TIME`, "03:00"): `{"hours": [8]}` runs at 08:00 when the default is 03:00.
 *   Both day lists set: a day must match BOTH (`{"weekdays": ["friday"], "days_of_month": [13]}` = every Friday 13th);
 *   note this differs from classic cron, where such a line means either. A day number the month lacks (31 in April)
 *   simply does not fire that month; there is no clamping to the last day.
 * - `{"cron": "m h dom mon dow"}`, see cron-fields.ts (classic cron day semantics).
 *
 * Hand-written rather than zod so each failure maps to exactly one error code (docs/errors.md) with a precise `parameters.path`
 * (`_schedules[1].hours[0]`); zod's union errors would not say which shape the user meant.
 * The stored value is the validated input as given (defaults are applied when compiling), so a later change of
 * `SCHEDULE_DEFAULT_TIME` moves schedules that rely on it, as R-SCHED-1's "configured default" implies.
 */
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { apiError, invalidValue } from '../errors.js';
import { parseWith } from '../validation.js';
import { parseCronFields } from './cron-fields.js';

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
type Weekday = (typeof WEEKDAYS)[number];

/** Bounded so that one export cannot make the per-tick evaluation expensive. */
export const MAX_SCHEDULES = 50;

export interface CalendarSchedule {
  weekdays?: Weekday[];
  days_of_month?: number[];
  hours?: number[];
  minutes?: number[];
}
export interface CronSchedule {
  cron: string;
}
export type ScheduleInput = CalendarSchedule | CronSchedule;

export const isCronSchedule = (s: ScheduleInput): s is CronSchedule => 'cron' in s;

const CALENDAR_KEYS = ['weekdays', 'days_of_month', 'hours', 'minutes'] as const;
const RANGES = { days_of_month: [1, 31], hours: [0, 23], minutes: [0, 59] } as const;

/** A non-empty list without duplicates ("leave the attribute out to mean every"). */
const list = <T extends z.ZodType>(item: T, description: string) =>
  z.array(item).min(1).meta({ uniqueItems: true }).describe(description).optional();
const within = ([min, max]: readonly [number, number]) => z.int().min(min).max(max);

/**
 * The two shapes as zod schemas, for the OpenAPI document and as the last step of validateSchedule: whatever the
 * precise checks above accept must also pass these, so the document can never promise less than is accepted. (The cron
 * grammar is checked by parseCronFields; JSON Schema only says it is a string.)
 */
export const calendarScheduleSchema = z
  .strictObject({
    weekdays: list(z.enum(WEEKDAYS), 'Missing: every day of the week'),
    days_of_month: list(within(RANGES.days_of_month), 'Missing: every day of the month; both lists set: a day must match both'),
    hours: list(within(RANGES.hours), 'Missing: the hour of SCHEDULE_DEFAULT_TIME'),
    minutes: list(within(RANGES.minutes), 'Missing: the minute of SCHEDULE_DEFAULT_TIME'),
  })
  .describe('Calendar lists (every key optional)');
export const cronScheduleSchema = z
  .strictObject({ cron: z.string().describe('m h dom mon dow, classic cron day semantics') })
  .describe('A cron line');
export const scheduleSchema = z.union([cronScheduleSchema, calendarScheduleSchema]);

const typeMismatch = (path: string, description: string) => apiError('type_mismatch', description, { path });
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates `_schedules`; returns a clean copy (sorted lists) to store. Throws a 400 AppError naming the path. */
export const validateSchedules = (input: unknown, path = '_schedules'): ScheduleInput[] => {
  if (!Array.isArray(input)) throw typeMismatch(path, 'Expected an array of schedules');
  if (input.length > MAX_SCHEDULES) throw invalidValue(path, `At most ${MAX_SCHEDULES} schedules are allowed`);
  return input.map((item, i) => validateSchedule(item, `${path}[${i}]`));
};

/** One `_schedules` entry; `path` prefixes every error's `parameters.path` (the schedule preview uses `schedule`). */
export const validateSchedule = (item: unknown, path: string): ScheduleInput => {
  if (!isPlainObject(item)) throw typeMismatch(path, 'Expected a schedule object');
  if ('cron' in item) {
    for (const key of Object.keys(item)) {
      if (key !== 'cron') {
        throw apiError('attribute_not_accepted', `"${key}" cannot be combined with "cron"`, { path: `${path}.${key}` });
      }
    }
    return parseWith(cronScheduleSchema, { cron: validateCron(item.cron, `${path}.cron`) }, path);
  }
  for (const key of Object.keys(item)) {
    if (!(CALENDAR_KEYS as readonly string[]).includes(key)) {
      throw apiError('attribute_not_accepted', `Unknown schedule attribute "${key}"`, { path: `${path}.${key}` });
    }
  }
  const out: CalendarSchedule = {};
  if (item.weekdays !== undefined) out.weekdays = validateWeekdays(item.weekdays, `${path}.weekdays`);
  for (const key of ['days_of_month', 'hours', 'minutes'] as const) {
    if (item[key] !== undefined) out[key] = validateIntegers(item[key], `${path}.${key}`, RANGES[key]);
  }
  return parseWith(calendarScheduleSchema, out, path);
};

const validateCron = (value: unknown, path: string): string => {
  if (typeof value !== 'string') throw typeMismatch(path, 'Expected a cron string "m h dom mon dow"');
  try {
    parseCronFields(value);
  } catch (e) {
    throw invalidValue(path, (e as Error).message);
  }
  return value.trim().split(/\s+/).join(' ');
};

/** Shared list rules: an array, not empty (an empty list would silently never fire), no duplicates. */
const validateList = <T>(value: unknown, path: string, check: (v: unknown, p: string) => T): T[] => {
  if (!Array.isArray(value)) throw typeMismatch(path, 'Expected an array');
  if (value.length === 0) throw invalidValue(path, 'Must not be empty; leave the attribute out to mean "every"');
  const seen = new Set<T>();
  return value.map((v, i) => {
    const checked = check(v, `${path}[${i}]`);
    if (seen.has(checked)) throw invalidValue(`${path}[${i}]`, `Duplicate value ${String(v)}`);
    seen.add(checked);
    return checked;
  });
};

const validateWeekdays = (value: unknown, path: string): Weekday[] =>
  validateList(value, path, (v, p) => {
    if (typeof v !== 'string') throw typeMismatch(p, 'Expected a weekday name such as "monday"');
    if (!(WEEKDAYS as readonly string[]).includes(v)) {
      throw invalidValue(p, `Unknown weekday "${v}"; expected one of ${WEEKDAYS.join(', ')}`);
    }
    return v as Weekday;
  }).sort((a, b) => WEEKDAYS.indexOf(a) - WEEKDAYS.indexOf(b));

const validateIntegers = (value: unknown, path: string, [min, max]: readonly [number, number]): number[] =>
  validateList(value, path, (v, p) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw typeMismatch(p, 'Expected an integer');
    if (v < min || v > max) throw invalidValue(p, `Must be between ${min} and ${max}`);
    return v;
  }).sort((a, b) => a - b);

/** Validates an IANA zone name (luxon/Intl); 400 `error.api.invalid_value` on `path` otherwise. */
export const validateTimezone = (tz: unknown, path = 'export.timezone'): string => {
  if (typeof tz !== 'string') throw typeMismatch(path, 'Expected an IANA time zone name such as "Europe/Berlin"');
  if (!IANAZone.isValidZone(tz)) throw invalidValue(path, `Unknown IANA time zone "${tz}"`);
  return tz;
};

/**
 * Parses `SCHEDULE_DEFAULT_TIME` ("HH:MM", 24 h). Plain `Error` (not an AppError): it is a configuration problem
 * that config.ts reports at start-up with the variable's name.
 */
export const parseDefaultTime = (value: string): { hour: number; minute: number } => {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value);
  if (!m) throw new Error(`Expected a time "HH:MM" (00:00-23:59), got "${value}"`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
};
