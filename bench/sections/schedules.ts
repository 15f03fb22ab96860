import { DEFINITION_DEFAULTS } from '../../server/domain/exports/export-schema.js';
import { Scheduler } from '../../server/domain/schedules/scheduler.js';
import { createUser } from '../../server/domain/users/users-repo.js';
import { createKnex } from '../../server/infra/db/knex.js';
import { createLogger } from '../../server/infra/logger.js';
import { startBenchServer } from '../env.js';
import { report, type BenchSection } from './section.js';

const EXPORTS = Number(process.env.BENCH_SCHEDULES ?? 10_000);

/**
 * R-PERF-5: 10,000 exports whose schedules fire in the same minute are all queued within 10 s. The exports are
 * inserted with SQL (the API is not what is measured), their fire is due, and the clock is injected so the
 * bench does not wait for a real minute. Measured: one scheduler tick that examines and enqueues all of them
 * (the ticker starts one every second, so add up to 1 s of tick latency), then the same with two instances
 * ticking at once on separate pools (exactly-once under contention).
 */
export const schedulesSection: BenchSection = {
  name: 'schedules',
  title: `${EXPORTS.toLocaleString('en-US')} schedules firing in the same minute are queued (R-PERF-5)`,
  async run() {
    const bench = await startBenchServer();
    const { db } = bench.services;
    const second = createKnex(bench.dbUrl, 10);
    try {
      const user = await createUser(db, { login: 'bench-scheduler', password: 'bench-password' });
      const definition = JSON.stringify({ ...DEFINITION_DEFAULTS, timezone: 'Europe/Berlin' });
      const fire = new Date('2026-12-01T03:00:00Z'); // 04:00 in Berlin
      await db.raw(
        `insert into exports (owner_id, type, name, name_given, definition, schedules, passkey, next_run_at, schedule_checked_at)
         select ?, 'export', 'bench schedule ' || g, true, ?::jsonb, '[{"hours": [4], "minutes": [0]}]'::jsonb,
                md5(g::text), ?, ?
         from generate_series(1, ?) g`,
        [user.id, definition, fire, new Date(fire.getTime() - 30 * 60_000), EXPORTS],
      );
      const log = createLogger('silent');
      const deps = { log, defaultTime: '03:00', catchupMs: 24 * 3600_000, defaultTimezone: 'UTC' };
      let clock = new Date(fire.getTime() + 500);
      const a = new Scheduler({ ...deps, db, now: () => clock });
      const b = new Scheduler({ ...deps, db: second, now: () => clock });

      let started = performance.now();
      const one = await a.tick();
      const single = (performance.now() - started) / 1000;
      const queued = Number((await db('runs').where({ state: 'pending' }).count({ n: '*' }))[0]!.n);
      report(`one instance: queued ${queued.toLocaleString('en-US')} of ${EXPORTS.toLocaleString('en-US')}`, single, 's', undefined, '≤ 10 s');
      if (one.queued !== EXPORTS || queued !== EXPORTS) throw new Error(`expected ${EXPORTS} runs, got ${queued}`);

      // The next day's fire on two instances at once: still one run per export.
      await db('runs').update({ state: 'done', finished_at: db.fn.now() });
      await db('exports').update({ state: 'done' });
      clock = new Date(fire.getTime() + 86_400_000 + 500);
      started = performance.now();
      const [ra, rb] = await Promise.all([a.tick(), b.tick()]);
      const both = (performance.now() - started) / 1000;
      const pending = Number((await db('runs').where({ state: 'pending' }).count({ n: '*' }))[0]!.n);
      report(`two instances: queued ${pending.toLocaleString('en-US')} (${ra.queued} + ${rb.queued})`, both, 's', undefined, '≤ 10 s, each once');
      if (pending !== EXPORTS || ra.queued + rb.queued !== EXPORTS) throw new Error(`expected ${EXPORTS} runs, got ${pending}`);
    } finally {
      await second.destroy();
      await bench.close();
    }
  },
};
