/**
 * Property tests against independent oracles:
 * - calendar schedules: a brute-force walk over every UTC minute with luxon, applying the documented DST rule
 *   (a wall time fires at its first occurrence; wall times skipped by a gap fire at the gap's end);
 * - cron strings in UTC (no DST): cron-parser's own iterator.
 */
import { expect } from 'chai';
import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { compileSchedules } from '../../../server/domain/schedules/compile.js';
import { firesBetween, latestFireBetween, nextFireAfter } from '../../../server/domain/schedules/next-fire.js';
import { type CalendarSchedule, WEEKDAYS } from '../../../server/domain/schedules/schema.js';
import { runs } from '../../helpers/thorough.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

// Zones with 60-minute, 30-minute and midnight (Santiago) transitions, a half-hour offset and none; start instants
// near their 2026 transitions so most runs cross one.
const ZONES: [string, number[]][] = [
  ['Europe/Berlin', [Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1)]],
  ['America/New_York', [Date.UTC(2026, 2, 8, 7), Date.UTC(2026, 10, 1, 6)]],
  ['Australia/Lord_Howe', [Date.UTC(2026, 3, 4, 15), Date.UTC(2026, 9, 3, 15, 30)]],
  ['America/Santiago', [Date.UTC(2026, 3, 5, 3), Date.UTC(2026, 8, 6, 4)]],
  ['Asia/Kolkata', [Date.UTC(2026, 5, 1)]],
  ['UTC', [Date.UTC(2026, 1, 28)]],
];

const subset = <T>(values: readonly T[], maxLength: number) =>
  fc.option(fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength }), { nil: undefined });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// Hours biased towards the transition hours (0-3) so gaps and overlaps are hit often.
const calendarSchedule: fc.Arbitrary<CalendarSchedule> = fc
  .record({
    weekdays: subset(WEEKDAYS, 4),
    days_of_month: subset(range(1, 31), 12),
    hours: subset([0, 1, 2, 3, 22, 23, ...range(0, 23)], 4),
    minutes: subset([0, 15, 30, 45, ...range(0, 59)], 4),
  })
  .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as CalendarSchedule);

const matchesWall = (schedules: CalendarSchedule[], wall: Date) =>
  schedules.some(
    (s) =>
      (s.weekdays ?? WEEKDAYS).includes(WEEKDAYS[wall.getUTCDay()]) &&
      (s.days_of_month ?? range(1, 31)).includes(wall.getUTCDate()) &&
      (s.hours ?? [3]).includes(wall.getUTCHours()) &&
      (s.minutes ?? [0]).includes(wall.getUTCMinutes()),
  );

/** Brute force: every UTC minute in (from, to], by the documented rule. `wall` = local fields encoded as UTC ms. */
const oracle = (schedules: CalendarSchedule[], tz: string, from: number, to: number): number[] => {
  const wallAt = (t: number) => {
    const d = DateTime.fromMillis(t, { zone: tz });
    return Date.UTC(d.year, d.month - 1, d.day, d.hour, d.minute);
  };
  const seen = new Set<number>();
  const out: number[] = [];
  let prevWall = wallAt(from - 2 * HOUR - MINUTE);
  // Walk from 2 hours early so walls of a repeated hour just before `from` count as seen.
  for (let t = from - 2 * HOUR; t <= to; t += MINUTE) {
    const wall = wallAt(t);
    let fire = !seen.has(wall) && matchesWall(schedules, new Date(wall));
    for (let skipped = prevWall + MINUTE; skipped < wall && !fire; skipped += MINUTE) {
      fire = matchesWall(schedules, new Date(skipped)); // a gap: its skipped wall times fire at the gap end
    }
    seen.add(wall);
    prevWall = wall;
    if (fire && t > from) out.push(t);
  }
  return out;
};

describe('schedules/property', () => {
  it('R-SCHED-1 fires are strictly increasing, unique and match the brute-force DST oracle', () => {
    const zoneCase = fc
      .constantFrom(...ZONES)
      .chain(([tz, starts]) =>
        fc.tuple(fc.constant(tz), fc.constantFrom(...starts), fc.integer({ min: -36 * 60, max: 12 * 60 })),
      );
    fc.assert(
      fc.property(
        fc.array(calendarSchedule, { minLength: 1, maxLength: 3 }),
        zoneCase,
        (schedules, [tz, t0, shift]) => {
          const from = t0 + shift * MINUTE;
          const to = from + 2 * 24 * HOUR;
          const compiled = compileSchedules(schedules);
          const got = firesBetween(compiled, tz, new Date(from), new Date(to), 10_000).map((d) => d.getTime());
          for (let i = 1; i < got.length; i++) expect(got[i]).to.be.greaterThan(got[i - 1]);
          expect(got.map((t) => new Date(t).toISOString())).to.deep.equal(
            oracle(schedules, tz, from, to).map((t) => new Date(t).toISOString()),
          );
          // nextFireAfter and latestFireBetween agree with the enumeration.
          if (got.length > 0) {
            expect(nextFireAfter(compiled, tz, new Date(from))?.getTime()).to.equal(got[0]);
            expect(latestFireBetween(compiled, tz, new Date(from), new Date(to))?.getTime()).to.equal(got.at(-1));
            for (let i = 1; i < Math.min(got.length, 20); i++) {
              expect(nextFireAfter(compiled, tz, new Date(got[i - 1]))?.getTime()).to.equal(got[i]);
            }
          } else {
            expect(latestFireBetween(compiled, tz, new Date(from), new Date(to))).to.equal(null);
            expect(nextFireAfter(compiled, tz, new Date(from))?.getTime() ?? Number.POSITIVE_INFINITY).to.be.above(to);
          }
        },
      ),
      { numRuns: runs(40) },
    );
  });

  it('R-SCHED-1 cron strings in UTC agree with cron-parser', () => {
    const field = (values: number[], max: number) =>
      fc.oneof(
        fc.constant('*'),
        fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 }).map((v) => v.join(',')),
        fc.integer({ min: 2, max }).map((step) => `*/${step}`),
        fc
          .tuple(fc.constantFrom(...values), fc.constantFrom(...values))
          .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      );
    // Day fields without steps: cron-parser and Vixie disagree on whether "*/2" restricts the day (we follow Vixie).
    const dayField = (values: number[]) =>
      fc.oneof(
        fc.constant('*'),
        fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 }).map((v) => v.join(',')),
      );
    const cron = fc
      .tuple(
        field(range(0, 59), 30),
        field(range(0, 23), 12),
        dayField(range(1, 28)),
        field(range(1, 12), 6),
        dayField(range(0, 6)),
      )
      .map((parts) => parts.join(' '));
    fc.assert(
      fc.property(cron, fc.integer({ min: 0, max: 365 * 24 * 60 }), (expression, minuteOfYear) => {
        const from = new Date(Date.UTC(2026, 0, 1) + minuteOfYear * MINUTE);
        const expected: string[] = [];
        const it = CronExpressionParser.parse(expression, { currentDate: from, tz: 'UTC' });
        for (let i = 0; i < 25; i++) expected.push(it.next().toDate().toISOString());
        const to = new Date(expected.at(-1)!);
        const got = firesBetween(compileSchedules([{ cron: expression }]), 'UTC', from, to, 25);
        expect(got.map((d) => d.toISOString())).to.deep.equal(expected);
      }),
      { numRuns: runs(100) },
    );
  });
});
