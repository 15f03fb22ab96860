import { expect } from 'chai';
import { compileSchedules } from '../../../server/domain/schedules/compile.js';
import { firesBetween, latestFireBetween, nextFireAfter } from '../../../server/domain/schedules/next-fire.js';
import type { ScheduleInput } from '../../../server/domain/schedules/schema.js';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const fires = (schedules: ScheduleInput[], tz: string, from: string, to: string, defaultTime = '03:00') =>
  iso(firesBetween(compileSchedules(schedules, defaultTime), tz, new Date(from), new Date(to)));
const next = (schedules: ScheduleInput[], tz: string, after: string, defaultTime = '03:00') =>
  nextFireAfter(compileSchedules(schedules, defaultTime), tz, new Date(after))?.toISOString() ?? null;

describe('schedules/next-fire', () => {
  describe('calendar schedules', () => {
    it('R-SCHED-1 an empty schedule runs daily at the default time', () => {
      expect(next([{}], 'UTC', '2026-05-10T12:00:00Z')).to.equal('2026-05-11T03:00:00.000Z');
      expect(next([{}], 'UTC', '2026-05-10T12:00:00Z', '07:45')).to.equal('2026-05-11T07:45:00.000Z');
      expect(fires([{}], 'UTC', '2026-05-10T00:00:00Z', '2026-05-13T00:00:00Z')).to.deep.equal([
        '2026-05-10T03:00:00.000Z',
        '2026-05-11T03:00:00.000Z',
        '2026-05-12T03:00:00.000Z',
      ]);
    });

    it('R-SCHED-1 missing hours or minutes take the default hour or minute', () => {
      expect(next([{ hours: [8] }], 'UTC', '2026-05-10T00:00:00Z')).to.equal('2026-05-10T08:00:00.000Z');
      expect(next([{ minutes: [15] }], 'UTC', '2026-05-10T00:00:00Z')).to.equal('2026-05-10T03:15:00.000Z');
    });

    it('R-SCHED-1 is strictly after: a fire at exactly `after` is not returned', () => {
      expect(next([{}], 'UTC', '2026-05-10T03:00:00Z')).to.equal('2026-05-11T03:00:00.000Z');
      expect(next([{}], 'UTC', '2026-05-10T02:59:59.999Z')).to.equal('2026-05-10T03:00:00.000Z');
      expect(fires([{}], 'UTC', '2026-05-10T03:00:00Z', '2026-05-11T03:00:00Z')).to.deep.equal([
        '2026-05-11T03:00:00.000Z', // from exclusive, to inclusive
      ]);
    });

    it('R-SCHED-1 weekdays restrict the days', () => {
      // 2026-05-11 is a Monday.
      const s: ScheduleInput[] = [{ weekdays: ['monday', 'friday'], hours: [9], minutes: [0, 30] }];
      expect(fires(s, 'UTC', '2026-05-11T00:00:00Z', '2026-05-18T00:00:00Z')).to.deep.equal([
        '2026-05-11T09:00:00.000Z',
        '2026-05-11T09:30:00.000Z',
        '2026-05-15T09:00:00.000Z',
        '2026-05-15T09:30:00.000Z',
      ]);
    });

    it('R-SCHED-1 days_of_month restrict the days; a day the month lacks is skipped, not clamped', () => {
      const s: ScheduleInput[] = [{ days_of_month: [1, 31], hours: [6] }];
      expect(fires(s, 'UTC', '2026-04-01T00:00:00Z', '2026-06-01T12:00:00Z')).to.deep.equal([
        '2026-04-01T06:00:00.000Z',
        '2026-05-01T06:00:00.000Z',
        '2026-05-31T06:00:00.000Z',
        '2026-06-01T06:00:00.000Z',
      ]);
    });

    it('R-SCHED-1 both day lists set: a day must match both (AND, unlike classic cron)', () => {
      // May 2026: the 1st and 15th are Fridays; June 2026 has no Friday 1st/15th.
      const s: ScheduleInput[] = [{ weekdays: ['friday'], days_of_month: [1, 15], hours: [12], minutes: [0] }];
      expect(fires(s, 'UTC', '2026-05-01T00:00:00Z', '2026-07-01T00:00:00Z')).to.deep.equal([
        '2026-05-01T12:00:00.000Z',
        '2026-05-15T12:00:00.000Z',
      ]);
      // Friday the 13th: next ones after 2026-03-13 are 2026-11-13 and 2027-08-13.
      expect(next([{ weekdays: ['friday'], days_of_month: [13] }], 'UTC', '2026-03-14T00:00:00Z')).to.equal(
        '2026-11-13T03:00:00.000Z',
      );
    });

    it('R-SCHED-1 several schedules are a union without duplicates', () => {
      const s: ScheduleInput[] = [{ hours: [9], minutes: [0] }, { cron: '0 9,17 * * *' }, { hours: [17, 9] }];
      expect(fires(s, 'UTC', '2026-05-10T00:00:00Z', '2026-05-11T00:00:00Z')).to.deep.equal([
        '2026-05-10T09:00:00.000Z',
        '2026-05-10T17:00:00.000Z',
      ]);
    });

    it('R-SCHED-1 no schedules never fire', () => {
      expect(next([], 'UTC', '2026-05-10T00:00:00Z')).to.equal(null);
      expect(fires([], 'UTC', '2026-05-10T00:00:00Z', '2027-05-10T00:00:00Z')).to.deep.equal([]);
    });
  });

  describe('cron strings', () => {
    it('R-SCHED-1 expands steps and ranges', () => {
      const monday = fires([{ cron: '*/15 9-17 * * 1-5' }], 'UTC', '2026-05-11T00:00:00Z', '2026-05-12T00:00:00Z');
      expect(monday).to.have.length(36);
      expect([monday[0], monday[35]]).to.deep.equal(['2026-05-11T09:00:00.000Z', '2026-05-11T17:45:00.000Z']);
      expect(fires([{ cron: '*/15 9-17 * * 1-5' }], 'UTC', '2026-05-16T00:00:00Z', '2026-05-18T00:00:00Z')).to.be.empty; // weekend
      expect(fires([{ cron: '5/20 8-9 * * *' }], 'UTC', '2026-05-11T00:00:00Z', '2026-05-12T00:00:00Z')).to.deep.equal(
        ['08:05', '08:25', '08:45', '09:05', '09:25', '09:45'].map((t) => `2026-05-11T${t}:00.000Z`),
      );
    });

    it('R-SCHED-1 month names, weekday names and 7 = Sunday', () => {
      expect(fires([{ cron: '0 6 1 jan,JUL *' }], 'UTC', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')).to.deep.equal(
        ['2026-01-01T06:00:00.000Z', '2026-07-01T06:00:00.000Z'],
      );
      expect(next([{ cron: '0 0 * * 7' }], 'UTC', '2026-05-11T00:00:00Z')).to.equal('2026-05-17T00:00:00.000Z');
      expect(next([{ cron: '0 0 * * sun' }], 'UTC', '2026-05-11T00:00:00Z')).to.equal('2026-05-17T00:00:00.000Z');
    });

    it('R-SCHED-1 cron keeps classic OR of day fields when both are restricted, AND when one starts with *', () => {
      // June 2026: Mondays 1, 8, 15, 22, 29; Fridays 5, 12, 19, 26.
      const days = (cron: string) =>
        fires([{ cron }], 'UTC', '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z').map((d) => Number(d.slice(8, 10)));
      expect(days('0 12 1,15 * 5')).to.deep.equal([1, 5, 12, 15, 19, 26]);
      expect(days('0 12 */2 * 1')).to.deep.equal([1, 15, 29]); // Vixie: "*/2" counts as unrestricted → AND
    });

    it('R-SCHED-1 a Feb 29 schedule finds its leap day, even across 2100', () => {
      expect(next([{ cron: '0 0 29 2 *' }], 'UTC', '2026-03-01T00:00:00Z')).to.equal('2028-02-29T00:00:00.000Z');
      expect(next([{ cron: '0 0 29 2 *' }], 'UTC', '2097-01-01T00:00:00Z')).to.equal('2104-02-29T00:00:00.000Z');
    });
  });

  describe('time zones', () => {
    it('R-SCHED-1 evaluates in America/New_York (EST and EDT)', () => {
      expect(next([{}], 'America/New_York', '2026-01-15T12:00:00Z')).to.equal('2026-01-16T08:00:00.000Z');
      expect(next([{}], 'America/New_York', '2026-07-01T12:00:00Z')).to.equal('2026-07-02T07:00:00.000Z');
    });

    it('R-SCHED-1 evaluates in Asia/Kolkata (+05:30), where 03:00 is the previous UTC day', () => {
      expect(next([{}], 'Asia/Kolkata', '2026-05-10T00:00:00Z')).to.equal('2026-05-10T21:30:00.000Z');
      // Monday 03:00 in Kolkata is Sunday 21:30Z.
      expect(next([{ weekdays: ['monday'] }], 'Asia/Kolkata', '2026-05-11T00:00:00Z')).to.equal(
        '2026-05-17T21:30:00.000Z',
      );
    });

    it('R-SCHED-1 Australia/Lord_Howe 30-minute DST: gap time fires once at the gap end', () => {
      // 2026-10-04 02:00 +10:30 → 02:30 +11:00. 02:15 does not exist that day.
      expect(
        fires([{ hours: [2], minutes: [15] }], 'Australia/Lord_Howe', '2026-10-02T00:00:00Z', '2026-10-05T00:00:00Z'),
      ).to.deep.equal(['2026-10-02T15:45:00.000Z', '2026-10-03T15:30:00.000Z', '2026-10-04T15:15:00.000Z']);
    });

    it('R-SCHED-1 Australia/Lord_Howe 30-minute DST: repeated time fires once, at its first occurrence', () => {
      // 2026-04-05 02:00 +11:00 → 01:30 +10:30: 01:45 happens at 14:45Z and again at 15:15Z.
      expect(
        fires([{ hours: [1], minutes: [45] }], 'Australia/Lord_Howe', '2026-04-03T00:00:00Z', '2026-04-06T00:00:00Z'),
      ).to.deep.equal(['2026-04-03T14:45:00.000Z', '2026-04-04T14:45:00.000Z', '2026-04-05T15:15:00.000Z']);
    });

    it('R-SCHED-1 an unknown zone is a 400 on export.timezone', () => {
      expect(() => next([{}], 'Mars/Olympus', '2026-05-10T00:00:00Z'))
        .to.throw()
        .with.property('code', 'error.api.invalid_value');
    });
  });

  describe('DST in Europe/Berlin and America/New_York', () => {
    const s0230: ScheduleInput[] = [{ hours: [2], minutes: [30] }];

    it('R-SCHED-1 a 02:30 schedule fires once on the spring-forward day (Berlin), at 03:00 CEST', () => {
      expect(fires(s0230, 'Europe/Berlin', '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z')).to.deep.equal([
        '2026-03-28T01:30:00.000Z',
        '2026-03-29T01:00:00.000Z',
        '2026-03-30T00:30:00.000Z',
      ]);
      expect(next(s0230, 'Europe/Berlin', '2026-03-29T00:59:59Z')).to.equal('2026-03-29T01:00:00.000Z');
      expect(next(s0230, 'Europe/Berlin', '2026-03-29T01:00:00Z')).to.equal('2026-03-30T00:30:00.000Z');
    });

    it('R-SCHED-1 a 02:30 schedule fires once on the fall-back day (Berlin), at the first 02:30', () => {
      expect(fires(s0230, 'Europe/Berlin', '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z')).to.deep.equal([
        '2026-10-24T00:30:00.000Z',
        '2026-10-25T00:30:00.000Z',
        '2026-10-26T01:30:00.000Z',
      ]);
      // Asked during the repeated hour (02:10 CET, second pass), the next fire is the next day's.
      expect(next(s0230, 'Europe/Berlin', '2026-10-25T01:10:00Z')).to.equal('2026-10-26T01:30:00.000Z');
    });

    it('R-SCHED-1 all times inside the spring-forward gap collapse into ONE fire at the gap end', () => {
      const s: ScheduleInput[] = [{ hours: [2, 3], minutes: [0, 30] }];
      expect(fires(s, 'Europe/Berlin', '2026-03-28T23:00:00Z', '2026-03-29T03:00:00Z')).to.deep.equal([
        '2026-03-29T01:00:00.000Z', // 02:00, 02:30 and 03:00 local
        '2026-03-29T01:30:00.000Z', // 03:30
      ]);
    });

    it('R-SCHED-1 a 02:30 schedule fires once on the spring-forward day (New York), at 03:00 EDT', () => {
      expect(fires(s0230, 'America/New_York', '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z')).to.deep.equal([
        '2026-03-07T07:30:00.000Z',
        '2026-03-08T07:00:00.000Z',
        '2026-03-09T06:30:00.000Z',
      ]);
    });

    it('R-SCHED-1 01:30 on the fall-back day in New York fires once (EDT); 02:30 is unambiguous (EST)', () => {
      expect(
        fires([{ hours: [1], minutes: [30] }], 'America/New_York', '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z'),
      ).to.deep.equal(['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
      expect(fires(s0230, 'America/New_York', '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z')).to.deep.equal([
        '2026-11-01T07:30:00.000Z',
      ]);
    });

    it('R-SCHED-1 an every-15-minutes cron fires each real instant once through both transitions', () => {
      const springDay = firesBetween(
        compileSchedules([{ cron: '*/15 * * * *' }]),
        'Europe/Berlin',
        new Date('2026-03-28T23:00:00Z'),
        new Date('2026-03-29T22:00:00Z'),
      );
      expect(springDay).to.have.length(23 * 4); // the local day has 23 hours
      const fallDay = firesBetween(
        compileSchedules([{ cron: '*/15 * * * *' }]),
        'Europe/Berlin',
        new Date('2026-10-24T22:00:00Z'),
        new Date('2026-10-25T23:00:00Z'),
      );
      expect(fallDay).to.have.length(24 * 4); // 25 real hours, but the repeated hour's times fire only once
    });
  });

  describe('limits', () => {
    it('R-SCHED-2 firesBetween stops at max', () => {
      const c = compileSchedules([{ cron: '* * * * *' }]);
      expect(
        firesBetween(c, 'UTC', new Date('2026-05-10T00:00:00Z'), new Date('2026-05-20T00:00:00Z'), 5),
      ).to.have.length(5);
      expect(firesBetween(c, 'UTC', new Date('2026-05-10T00:00:00Z'), new Date('2026-05-20T00:00:00Z'))).to.have.length(
        1000,
      );
    });

    it('R-SCHED-2 latestFireBetween returns the last fire of a window or null', () => {
      const c = compileSchedules([{ hours: [2], minutes: [30] }]);
      const latest = (from: string, to: string) =>
        latestFireBetween(c, 'Europe/Berlin', new Date(from), new Date(to))?.toISOString() ?? null;
      expect(latest('2026-10-20T00:00:00Z', '2026-10-26T00:00:00Z')).to.equal('2026-10-25T00:30:00.000Z');
      expect(latest('2026-10-25T00:30:00Z', '2026-10-26T00:00:00Z')).to.equal(null);
      expect(latest('2026-03-28T00:00:00Z', '2026-03-29T01:00:00Z')).to.equal('2026-03-29T01:00:00.000Z');
    });

    // Whether nextFireAfter is cheap enough for 10,000 exports per tick is measured by `npm run bench -- schedules`.
  });
});
