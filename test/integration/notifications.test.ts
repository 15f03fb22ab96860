import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { composeServices, type Services } from '../../server/compose.js';
import { loadConfig } from '../../server/config.js';
import type { Producer } from '../../server/domain/runs/run-context.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { Scheduler } from '../../server/domain/schedules/scheduler.js';
import { createUser } from '../../server/domain/users/users-repo.js';
import { PgListener, listenerConnection } from '../../server/infra/db/listener.js';
import { eventually } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/cluster.js';

const silent = pino({ level: 'silent' });
/** Periods long enough that only a notification can explain a reaction within the test. */
const NEVER = 600_000;

/**
 * R-SCALE-2: LISTEN/NOTIFY on a real PostgreSQL. The worker and the scheduler are given periods of ten minutes, so a
 * stop, a claim or a schedule tick seen within seconds came through a notification, not through polling.
 */
describe('LISTEN/NOTIFY between instances (issue 11)', function () {
  this.timeout(30_000);
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let services: Services;
  let dataDir: string;
  let ownerId: number;
  const aborted = new Set<number>();
  /** Waits until its run is stopped: the run stays "mid-way" for as long as the test wants. */
  const waiting: Producer = {
    name: 'waiting',
    async produce(ctx) {
      await new Promise<void>((_, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted.add(ctx.run.export_id);
          reject(ctx.signal.reason);
        });
      });
    },
  };

  before(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'em-notify-'));
    const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: database.url });
    services = composeServices(config, database.db, silent, { producers: [waiting] });
    ownerId = (await createUser(database.db, { login: 'notify', password: 'notify-password' })).id;
  });
  after(async () => {
    await services?.signals.close();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers committed notifications only, and re-subscribes after its connection is killed', async () => {
    const listener = new PgListener({ connection: listenerConnection(database.db), log: silent, firstDelayMs: 50 });
    const got: string[] = [];
    let resubscribed = 0;
    const off = listener.subscribe(
      'em_test_channel',
      (p) => got.push(p),
      () => resubscribed++,
    );
    try {
      await eventually(async () => listener.listening);
      await database.db
        .transaction(async (trx) => {
          await trx.raw("select pg_notify('em_test_channel', 'rolled back')");
          throw new Error('rollback');
        })
        .catch(() => {});
      await database.db.raw("select pg_notify('em_test_channel', 'one')");
      await eventually(async () => got.includes('one'));
      expect(got).to.deep.equal(['one']);

      const { rows } = await database.db.raw(
        "select pg_terminate_backend(pid) as killed from pg_stat_activity where application_name = 'export-manager-listener' and datname = current_database()",
      );
      expect(rows.length).to.be.greaterThan(0);
      await eventually(async () => resubscribed > 0 && listener.listening);
      await database.db.raw("select pg_notify('em_test_channel', 'two')");
      await eventually(async () => got.includes('two'));
    } finally {
      off();
      await listener.close();
    }
    expect(listener.listening).to.equal(false);
  });

  describe('a worker that polls and heartbeats every ten minutes', () => {
    let worker: Worker;
    beforeEach(() => {
      worker = services.createWorker({
        concurrency: 8,
        pollMs: NEVER,
        heartbeatMs: NEVER,
        sweepMs: NEVER,
        leaseMs: NEVER,
      });
      worker.start();
    });
    afterEach(async () => {
      await worker.stop();
    });

    it('claims a new run at once and aborts it at once when another instance stops it', async () => {
      await eventually(async () => (services.signals as PgListener).listening);
      const exp = await services.exports.create(ownerId, { export: { name: 'notified' } } as never);
      const run = await eventually(async () =>
        database.db('runs').where({ export_id: exp.id, state: 'processing' }).first(),
      );
      await eventually(async () => worker.activeRuns.includes(run.id));
      await services.exports.stop(ownerId, exp.id);
      await eventually(async () => aborted.has(exp.id), 5_000);
      await eventually(async () => !worker.activeRuns.includes(run.id));
    });

    it('aborts a run at once when its export is deleted', async () => {
      await eventually(async () => (services.signals as PgListener).listening);
      const exp = await services.exports.create(ownerId, { export: { name: 'deleted' } } as never);
      await eventually(async () => database.db('runs').where({ export_id: exp.id, state: 'processing' }).first());
      await services.exports.remove(ownerId, exp.id);
      await eventually(async () => aborted.has(exp.id), 5_000);
    });
  });

  it('a schedule change on one instance makes the scheduler of another tick at once', async () => {
    let now = new Date('2031-03-04T09:59:50Z');
    const scheduler = new Scheduler(
      {
        db: database.db,
        log: silent,
        defaultTime: '03:00',
        catchupMs: 3_600_000,
        defaultTimezone: 'UTC',
        now: () => now,
        signals: services.signals,
      },
      { tickMs: NEVER },
    );
    // The API instance's scheduler (never started) computes next_run_at with the same clock.
    const api = composeServices(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: database.url }), database.db, silent, {
      now: () => now,
    });
    const due = await api.exports.create(ownerId, {
      export: { name: 'due at ten' },
      _schedules: [{ cron: '0 10 * * *' }],
    } as never);
    const other = await api.exports.create(ownerId, {
      export: { name: 'other' },
      _schedules: [{ cron: '0 4 * * *' }],
    } as never);
    scheduler.start();
    try {
      await eventually(async () => (services.signals as PgListener).listening);
      now = new Date('2031-03-04T10:00:05Z');
      await api.exports.update(ownerId, other.id, { export: {}, _schedules: [{ cron: '0 5 * * *' }] } as never, false);
      const run = await eventually(async () => database.db('runs').where({ export_id: due.id }).first(), 5_000);
      expect(run.trigger).to.equal('schedule');
      await api.exports.stop(ownerId, due.id);
    } finally {
      await scheduler.stop();
      await api.signals.close();
    }
  });
});
