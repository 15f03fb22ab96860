import { expect } from 'chai';
import { AppError } from '../../../server/domain/errors.js';
import {
  MAX_SCHEDULES,
  parseDefaultTime,
  validateSchedules,
  validateTimezone,
} from '../../../server/domain/schedules/schema.js';

const errorOf = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected an AppError');
};

const expectRejected = (input: unknown, code: string, path: string) => {
  const e = errorOf(() => validateSchedules(input));
  expect(e.status).to.equal(400);
  expect({ code: e.code, path: e.parameters.path }).to.deep.equal({ code: `error.api.${code}`, path });
};

describe('schedules/schema', () => {
  it('R-SCHED-1 accepts both shapes and returns sorted, normalised copies', () => {
    const out = validateSchedules([
      {},
      { weekdays: ['friday', 'monday'], days_of_month: [15, 1], hours: [17, 9], minutes: [30, 0] },
      { cron: '  */15   9-17 * *  mon-fri ' },
      { cron: '0 0 * * 7' },
    ]);
    expect(out).to.deep.equal([
      {},
      { weekdays: ['monday', 'friday'], days_of_month: [1, 15], hours: [9, 17], minutes: [0, 30] },
      { cron: '*/15 9-17 * * mon-fri' },
      { cron: '0 0 * * 7' },
    ]);
    expect(validateSchedules([])).to.deep.equal([]);
  });

  it('R-SCHED-1 rejects a non-array and too many schedules on _schedules', () => {
    expectRejected({ hours: [1] }, 'type_mismatch', '_schedules');
    expectRejected(null, 'type_mismatch', '_schedules');
    expectRejected(
      Array.from({ length: MAX_SCHEDULES + 1 }, () => ({})),
      'invalid_value',
      '_schedules',
    );
  });

  it('R-SCHED-1 rejects invalid calendar values with code and path', () => {
    const cases: [unknown, string, string][] = [
      [{ hours: [24] }, 'invalid_value', '_schedules[1].hours[0]'],
      [{ hours: [-1] }, 'invalid_value', '_schedules[1].hours[0]'],
      [{ hours: [3, '4'] }, 'type_mismatch', '_schedules[1].hours[1]'],
      [{ hours: [1.5] }, 'type_mismatch', '_schedules[1].hours[0]'],
      [{ hours: 3 }, 'type_mismatch', '_schedules[1].hours'],
      [{ hours: [] }, 'invalid_value', '_schedules[1].hours'],
      [{ hours: [3, 4, 3] }, 'invalid_value', '_schedules[1].hours[2]'],
      [{ minutes: [60] }, 'invalid_value', '_schedules[1].minutes[0]'],
      [{ days_of_month: [0] }, 'invalid_value', '_schedules[1].days_of_month[0]'],
      [{ days_of_month: [1, 32] }, 'invalid_value', '_schedules[1].days_of_month[1]'],
      [{ weekdays: ['Monday'] }, 'invalid_value', '_schedules[1].weekdays[0]'],
      [{ weekdays: ['monday', 'monday'] }, 'invalid_value', '_schedules[1].weekdays[1]'],
      [{ weekdays: [1] }, 'type_mismatch', '_schedules[1].weekdays[0]'],
      [{ weekdays: 'monday' }, 'type_mismatch', '_schedules[1].weekdays'],
      [{ hours: [3], at: '03:00' }, 'attribute_not_accepted', '_schedules[1].at'],
      [null, 'type_mismatch', '_schedules[1]'],
      [[{}], 'type_mismatch', '_schedules[1]'],
      ['0 3 * * *', 'type_mismatch', '_schedules[1]'],
    ];
    for (const [bad, code, path] of cases) expectRejected([{}, bad], code, path);
  });

  it('R-SCHED-1 rejects invalid cron strings, seconds fields and extensions on .cron', () => {
    const bad = [
      '0 0 3 * * *', // seconds
      '0 3 * *',
      '0 3 * * * * *',
      '',
      '   ',
      '61 * * * *',
      '0 24 * * *',
      '0 3 0 * *',
      '0 3 * 13 *',
      '0 3 * * 8',
      '5-1 * * * *',
      '*/0 * * * *',
      '0 3 L * *',
      '0 3 * * 5L',
      '0 3 15W * *',
      '0 3 * * 1#2',
      'H 3 * * *',
      '@daily',
      '0 0 30 2 *', // never happens
      '0 0 31 4,6 *',
      'a b c d e',
      '0 3 * * monday',
      '1,,2 * * * *',
    ];
    for (const cron of bad) {
      const e = errorOf(() => validateSchedules([{ cron }]));
      expect({ cron, code: e.code, path: e.parameters.path }).to.deep.equal({
        cron,
        code: 'error.api.invalid_value',
        path: '_schedules[0].cron',
      });
    }
    expect(errorOf(() => validateSchedules([{ cron: '0 0 3 * * *' }])).message).to.match(/seconds/i);
    expectRejected([{ cron: 5 }], 'type_mismatch', '_schedules[0].cron');
    expectRejected([{ cron: '0 3 * * *', hours: [1] }], 'attribute_not_accepted', '_schedules[0].hours');
  });

  it('R-SCHED-1 validates export.timezone as an IANA name', () => {
    expect(validateTimezone('Europe/Berlin')).to.equal('Europe/Berlin');
    expect(validateTimezone('UTC')).to.equal('UTC');
    expect(validateTimezone('Australia/Lord_Howe')).to.equal('Australia/Lord_Howe');
    for (const tz of ['Mars/Olympus', '', '+01:00', 'Europe/Berlin ']) {
      const e = errorOf(() => validateTimezone(tz));
      expect([e.code, e.parameters.path]).to.deep.equal(['error.api.invalid_value', 'export.timezone']);
    }
    const e = errorOf(() => validateTimezone(1, 'timezone'));
    expect([e.code, e.parameters.path]).to.deep.equal(['error.api.type_mismatch', 'timezone']);
  });

  it('R-SCHED-1 parses SCHEDULE_DEFAULT_TIME as HH:MM', () => {
    expect(parseDefaultTime('03:00')).to.deep.equal({ hour: 3, minute: 0 });
    expect(parseDefaultTime('23:59')).to.deep.equal({ hour: 23, minute: 59 });
    for (const bad of ['3:00', '24:00', '12:60', '0300', '']) expect(() => parseDefaultTime(bad)).to.throw(/HH:MM/);
  });
});
