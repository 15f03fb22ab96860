/**
 * `{"cron": "m h dom mon dow"}` → expanded field values.
 *
 * cron-parser is used only to parse and expand the fields (ranges, steps, lists, names); firing is computed by
 * next-fire.ts so that DST follows our documented rule rather than the library's.
 *
 * Accepted: exactly 5 fields; numbers, `*`, `,`, `-`, `/` (steps, also `5/15` = from 5 every 15), `?` in the day fields,
 * month names jan…dec and weekday names sun…sat (any case), weekday 7 = Sunday.
 * Rejected: a 6th (seconds) field, `@daily`-style macros, and the Quartz extensions `L`, `W`, `#` and Jenkins `H`
 * (hashed values depend on the library's seed and would make the fire time surprising).
 *
 * Day semantics follow classic (Vixie/cronie) cron, because people paste cron lines from crontab docs: when both the
 * day-of-month and the day-of-week field are restricted (do not start with `*` or `?`), a day matches if EITHER does.
 * The object form `{weekdays, days_of_month}` instead requires BOTH (R-SCHED-1); see schema.ts.
 */
import { CronExpressionParser } from 'cron-parser';

export interface CronFields {
  minutes: number[];
  hours: number[];
  daysOfMonth: number[];
  months: number[];
  weekdays: number[]; // 0 = Sunday … 6 = Saturday
  /** true when both day fields are restricted, so a day matches day-of-month OR day-of-week (classic cron). */
  dayOr: boolean;
}

const FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;
const MONTH_NAMES = /\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\b/gi;
const WEEKDAY_NAMES = /\b(sun|mon|tue|wed|thu|fri|sat)\b/gi;
const PLAIN = /^[0-9*,/-]+$/;
const WITH_QUESTION_MARK = /^(\?|[0-9*,/-]+)$/;

/** Field lengths of a 31-day calendar with a leap February: a dom/month pair outside these can never fire. */
const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Parses a 5-field cron line. Throws an `Error` whose message is safe to show to the user (the schema wraps it in a
 * 400 with the attribute path).
 */
export const parseCronFields = (expression: string): CronFields => {
  const parts = expression.trim().split(/\s+/);
  if (parts.length === 6) throw new Error('A seconds field is not supported; use 5 fields: m h dom mon dow');
  if (parts.length !== 5 || parts[0] === '') throw new Error('Expected 5 fields: m h dom mon dow');
  parts.forEach((part, i) => {
    // Names are turned into a placeholder digit so that a leftover letter means an unsupported extension (L, W, H…).
    const stripped = i === 3 ? part.replace(MONTH_NAMES, '1') : i === 4 ? part.replace(WEEKDAY_NAMES, '1') : part;
    const allowed = i === 2 || i === 4 ? WITH_QUESTION_MARK : PLAIN;
    if (!allowed.test(stripped)) throw new Error(`Unsupported characters in the ${FIELD_NAMES[i]} field: ${part}`);
  });
  let fields: ReturnType<typeof CronExpressionParser.parse>['fields'];
  try {
    fields = CronExpressionParser.parse(parts.join(' ')).fields;
  } catch (e) {
    throw new Error(`Invalid cron expression: ${(e as Error).message}`);
  }
  const numbers = (values: readonly (number | string)[]) => values.filter((v): v is number => typeof v === 'number');
  const result: CronFields = {
    minutes: numbers(fields.minute.values),
    hours: numbers(fields.hour.values),
    daysOfMonth: numbers(fields.dayOfMonth.values),
    months: numbers(fields.month.values),
    weekdays: [...new Set(numbers(fields.dayOfWeek.values).map((d) => d % 7))].sort((a, b) => a - b),
    // Vixie cron decides "restricted" by the first character, so `*/2` counts as unrestricted; we do the same.
    dayOr: !/^[*?]/.test(parts[2]) && !/^[*?]/.test(parts[4]),
  };
  const domCanHappen = result.months.some((m) => result.daysOfMonth.some((d) => d <= MAX_DAYS[m - 1]));
  if (!domCanHappen && !result.dayOr) throw new Error('The day of month never occurs in the given months');
  return result;
};
