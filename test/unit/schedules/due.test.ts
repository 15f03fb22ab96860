import { expect } from 'chai';
import { compileSchedules } from '../../../server/domain/schedules/compile.js';
import { dueFires } from '../../../server/domain/schedules/due.js';
import type { ScheduleInput } from '../../../server/domain/schedules/schema.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CATCHUP = DAY; // SCHEDULE_CATCHUP default

const due = (schedules: ScheduleInput[], tz: string, lastCheckedAt: string, now: string, catchupMs = CATCHUP) =>
  dueFires(compileSchedules(schedules), tz, new Date(lastCheckedAt), new Date(now), catchupMs)?.toISOString() ?? null;

/** Drives a simulated ticker with an injected clock; returns every fire it would have enqueued. */
const tick = (schedules: ScheduleInput[], tz: string, from: string, to: string, stepMs: number) => {
  const c = compileSchedules(schedules);
  const enqueued: string[] = [];
  let last = new Date(from).getTime();
  for (let now = last + stepMs; now <= new Date(to).getTime(); now += stepMs) {
    const fire = dueFires(c, tz, new Date(last), new Date(now), CATCHUP);
    if (fire) enqueued.push(fire.toISOString());
    last = now;
  }
  return enqueued;
};

describe('schedules/due', () => {
  it('R-SCHED-3 a tick right after the fire time returns the scheduled instant, the next tick nothing', () => {
    const s: ScheduleInput[] = [{ hours: [2], minutes: [30] }];
    expect(due(s, 'UTC', '2026-05-10T02:29:57Z', '2026-05-10T02:30:02Z')).to.equal('2026-05-10T02:30:00.000Z');
    expect(due(s, 'UTC', '2026-05-10T02:30:02Z', '2026-05-10T02:30:07Z')).to.equal(null);
    expect(due(s, 'UTC', '2026-05-10T02:29:50Z', '2026-05-10T02:29:55Z')).to.equal(null);
  });

  it('R-SCHED-3 instances ticking at different moments compute the same fire time (the unique key)', () => {
    const s: ScheduleInput[] = [{ hours: [2], minutes: [30] }];
    const a = due(s, 'UTC', '2026-05-10T02:29:58Z', '2026-05-10T02:30:03Z');
    const b = due(s, 'UTC', '2026-05-10T02:29:59.500Z', '2026-05-10T02:30:04.500Z');
    expect(a).to.equal('2026-05-10T02:30:00.000Z');
    expect(b).to.equal(a);
  });

  it('R-SCHED-4 after 3 days of downtime an hourly schedule queues ONE catch-up: the latest missed fire', () => {
    const s: ScheduleInput[] = [{ cron: '0 * * * *' }];
    expect(due(s, 'UTC', '2026-05-07T10:00:00Z', '2026-05-10T10:20:00Z')).to.equal('2026-05-10T10:00:00.000Z');
    // The following tick does not queue the other missed slots.
    expect(due(s, 'UTC', '2026-05-10T10:20:00Z', '2026-05-10T10:20:05Z')).to.equal(null);
  });

  it('R-SCHED-4 a daily fire missed within SCHEDULE_CATCHUP is caught up once', () => {
    const s: ScheduleInput[] = [{}]; // 03:00 daily
    expect(due(s, 'UTC', '2026-05-07T10:00:00Z', '2026-05-10T10:00:00Z')).to.equal('2026-05-10T03:00:00.000Z');
  });

  it('R-SCHED-4 nothing older than the catch-up window is queued', () => {
    expect(due([{}], 'UTC', '2026-05-07T10:00:00Z', '2026-05-10T10:00:00Z', 6 * HOUR)).to.equal(null); // 7 h old
    // Weekly on Monday; downtime over the whole week, back on Wednesday: Monday's fire is 2 days old.
    expect(due([{ weekdays: ['monday'] }], 'UTC', '2026-05-01T00:00:00Z', '2026-05-13T12:00:00Z')).to.equal(null);
    expect(due([{ weekdays: ['monday'] }], 'UTC', '2026-05-01T00:00:00Z', '2026-05-13T12:00:00Z', 3 * DAY)).to.equal(
      '2026-05-11T03:00:00.000Z',
    );
  });

  it('R-SCHED-4 catch-up 0 still fires an on-time fire seen by a late tick (one-minute grace)', () => {
    expect(due([{}], 'UTC', '2026-05-10T02:59:30Z', '2026-05-10T03:00:30Z', 0)).to.equal('2026-05-10T03:00:00.000Z');
    expect(due([{}], 'UTC', '2026-05-10T02:00:00Z', '2026-05-10T03:05:00Z', 0)).to.equal(null);
  });

  it('R-SCHED-3 a clock that stepped back (lastCheckedAt >= now) yields nothing', () => {
    expect(due([{}], 'UTC', '2026-05-10T03:00:05Z', '2026-05-10T03:00:01Z')).to.equal(null);
    expect(() => due([{}], 'UTC', '2026-05-10T03:00:00Z', '2026-05-10T03:00:05Z', -1)).to.throw(RangeError);
  });

  it('R-SCHED-1 a 5-second ticker enqueues 02:30 exactly once on the Berlin spring-forward night', () => {
    expect(
      tick([{ hours: [2], minutes: [30] }], 'Europe/Berlin', '2026-03-28T22:00:00Z', '2026-03-29T04:00:00Z', 5000),
    ).to.deep.equal(['2026-03-29T01:00:00.000Z']);
  });

  it('R-SCHED-1 a 5-second ticker enqueues 02:30 exactly once on the Berlin fall-back night', () => {
    expect(
      tick([{ hours: [2], minutes: [30] }], 'Europe/Berlin', '2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z', 5000),
    ).to.deep.equal(['2026-10-25T00:30:00.000Z']);
  });

  it('R-SCHED-1 a once-a-minute ticker enqueues New York 01:30 exactly once on the fall-back night', () => {
    expect(
      tick([{ hours: [1], minutes: [30] }], 'America/New_York', '2026-11-01T03:00:00Z', '2026-11-01T09:00:00Z', 60_000),
    ).to.deep.equal(['2026-11-01T05:30:00.000Z']);
  });
});
