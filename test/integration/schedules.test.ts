import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import { Scheduler } from '../../server/domain/schedules/scheduler.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { GateProducer } from '../helpers/producers.js';

/**
 * R-SCHED through the database with an injected clock: no test waits for a real minute. Scheduler instances share
 * the test's clock; `tick()` is driven by hand except where a test checks what the running ticker notices.
 */
describe('schedules (R-SCHED)', () => {
  let app: TestApp;
  let token: string;
  let userId: number;
  let clock = new Date('2026-03-01T00:00:00Z');
  const now = () => new Date(clock.getTime());
  const gate = new GateProducer();
  const extra: Scheduler[] = [];
  const pools: Knex[] = [];

  const put = async (body: Record<string, unknown>) =>
    (await app.request.put('/api/v1/export').query({ token }).send(body).expect(200)).body;
  const get = async (id: number) => (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body;
  const fires = (id: number) => app.db('schedule_fires').where({ export_id: id }).orderBy('fire_time');
  const runs = (id: number) => app.db('runs').where({ export_id: id }).orderBy('id');
  /** Finishes every active run (as a fast producer would) so the next fire is not skipped. */
  const finishRuns = async () => {
    const done = await app.db('runs').whereIn('state', ['pending', 'processing']).update({ state: 'done', finished_at: now() }).returning('export_id');
    if (done.length) await app.db('exports').whereIn('id', done.map((r: { export_id: number }) => r.export_id)).update({ state: 'done' });
  };
  /** Steps the clock from `from` to `to` and ticks at every step. */
  const walk = async (from: string, to: string, stepMs: number, scheduler = app.scheduler) => {
    for (let t = Date.parse(from); t <= Date.parse(to); t += stepMs) {
      clock = new Date(t);
      await scheduler.tick();
    }
  };
  const secondScheduler = (offsetMs = 0, tickMs?: number) => {
    const db = knexFactory(app.db.client.config);
    pools.push(db);
    const s = new Scheduler(
      { db, log: app.log, defaultTime: '03:00', catchupMs: 24 * 3600_000, defaultTimezone: 'UTC', now: () => new Date(clock.getTime() + offsetMs) },
      { tickMs },
    );
    extra.push(s);
    return s;
  };

  before(async () => {
    app = await startTestApp({ producers: [gate], compose: { now } });
    ({ token, userId } = await app.login('planner'));
  });
  afterEach(async () => {
    for (const s of extra.splice(0)) await s.stop();
    gate.hold();
    await app.db('runs').whereIn('state', ['pending', 'processing']).update({ state: 'failed' });
    await app.db('exports').delete();
  });
  after(async () => {
    for (const db of pools) await db.destroy();
    await app.close();
  });

  it('R-SCHED-2 shows _next_run in the export timezone rules, moves it on update and clears it without schedules', async () => {
    clock = new Date('2026-06-01T10:00:00Z');
    const created = await put({ export: { name: 'nightly', timezone: 'Europe/Berlin' }, _schedules: [{ hours: [3], minutes: [15] }] });
    expect(created._state).to.equal('new');
    expect(created._next_run).to.equal('2026-06-02T01:15:00.000Z'); // 03:15 CEST
    const id = created.export._id;
    const updated = await app.request
      .post(`/api/v1/export/${id}`)
      .query({ token })
      .send({ export: {}, _schedules: [{ cron: '30 12 * * *' }] })
      .expect(200);
    expect(updated.body._next_run).to.equal('2026-06-01T10:30:00.000Z'); // 12:30 CEST today
    const defaults = await app.request.post(`/api/v1/export/${id}`).query({ token }).send({ export: {}, _schedules: [{ weekdays: ['monday'] }] }).expect(200);
    expect(defaults.body._next_run).to.equal('2026-06-08T01:00:00.000Z'); // Monday 03:00 (SCHEDULE_DEFAULT_TIME)
    const cleared = await app.request.post(`/api/v1/export/${id}`).query({ token }).send({ export: {}, _schedules: [] }).expect(200);
    expect(cleared.body._next_run).to.equal(null);
  });

  it('R-SCHED-1 DST spring-forward: a 02:30 schedule runs once, at 03:00 CEST, on the day 02:30 does not exist', async () => {
    clock = new Date('2026-03-28T12:00:00Z');
    const { export: e } = await put({ export: { name: 'spring', timezone: 'Europe/Berlin' }, _schedules: [{ hours: [2], minutes: [30] }] });
    await walk('2026-03-28T22:00:00Z', '2026-03-29T21:00:00Z', 5 * 60_000);
    const f = await fires(e._id);
    expect(f.map((r) => r.fire_time.toISOString())).to.deep.equal(['2026-03-29T01:00:00.000Z']);
    expect(await runs(e._id)).to.have.length(1);
    expect((await get(e._id))._next_run).to.equal('2026-03-30T00:30:00.000Z'); // 02:30 CEST the day after
  });

  it('R-SCHED-1 DST fall-back: a 02:30 schedule runs once, at the first 02:30 (CEST), on the day 02:30 happens twice', async () => {
    clock = new Date('2026-10-24T12:00:00Z');
    const { export: e } = await put({ export: { name: 'autumn', timezone: 'Europe/Berlin' }, _schedules: [{ hours: [2], minutes: [30] }] });
    // Runs are finished between steps so a second fire would not be hidden by a skip.
    for (let t = Date.parse('2026-10-24T22:00:00Z'); t <= Date.parse('2026-10-25T22:00:00Z'); t += 5 * 60_000) {
      clock = new Date(t);
      await app.scheduler.tick();
      await finishRuns();
    }
    const f = await fires(e._id);
    expect(f.map((r) => r.fire_time.toISOString())).to.deep.equal(['2026-10-25T00:30:00.000Z']);
    expect(f[0].outcome).to.equal('queued');
    expect(await runs(e._id)).to.have.length(1);
  });

  it('R-SCHED-4 after 3 days of downtime an hourly schedule queues one catch-up run, not 72', async () => {
    clock = new Date('2026-05-01T08:10:00Z');
    const { export: e } = await put({ export: { name: 'hourly' }, _schedules: [{ cron: '0 * * * *' }] });
    await app.scheduler.tick();
    clock = new Date('2026-05-04T08:40:00Z'); // the ticker was down for three days
    const r = await app.scheduler.tick();
    expect(r.queued).to.equal(1);
    await app.scheduler.tick();
    const list = await runs(e._id);
    expect(list).to.have.length(1);
    expect(list[0].trigger).to.equal('catchup');
    expect(list[0].fire_time.toISOString()).to.equal('2026-05-04T08:00:00.000Z'); // the latest missed slot
    expect((await get(e._id))._next_run).to.equal('2026-05-04T09:00:00.000Z');
  });

  it('R-SCHED-4 a missed fire older than SCHEDULE_CATCHUP is not caught up', async () => {
    clock = new Date('2026-05-01T08:00:00Z');
    const { export: e } = await put({ export: { name: 'weekly' }, _schedules: [{ cron: '0 9 * * 5' }] }); // Fridays 09:00
    clock = new Date('2026-05-10T12:00:00Z'); // missed Friday May 8th by more than 24 h
    await app.scheduler.tick();
    expect(await runs(e._id)).to.have.length(0);
    expect((await get(e._id))._next_run).to.equal('2026-05-15T09:00:00.000Z');
  });

  it('R-SCHED-3 a fire while the previous run is active is skipped and logged EXPORT_SKIPPED once', async () => {
    clock = new Date('2026-05-01T10:00:30Z');
    const { export: e } = await put({ export: { name: 'busy' }, _schedules: [{ cron: '* * * * *' }] });
    await walk('2026-05-01T10:01:00Z', '2026-05-01T10:01:50Z', 10_000); // fire 10:01 → run pending
    await walk('2026-05-01T10:02:00Z', '2026-05-01T10:02:50Z', 10_000); // fire 10:02 → skipped (run still active)
    await secondScheduler().tick(); // another instance does not log it again
    const f = await fires(e._id);
    expect(f.map((r) => r.outcome)).to.deep.equal(['queued', 'skipped']);
    expect(await runs(e._id)).to.have.length(1);
    const skipped = (await get(e._id))._log.filter((l: { type: string }) => l.type === 'EXPORT_SKIPPED');
    expect(skipped).to.have.length(1);
    expect(skipped[0].info.fire_time).to.equal('2026-05-01T10:02:00.000Z');
  });

  it('R-SCHED-3 two schedulers on one database, 60 simulated minutes of a per-minute cron: 60 fires, 60 runs', async () => {
    clock = new Date('2026-07-01T11:59:30Z');
    const { export: e } = await put({ export: { name: 'every minute' }, _schedules: [{ cron: '* * * * *' }] });
    const a = secondScheduler(0);
    const b = secondScheduler(-700); // B's clock is 0.7 s behind
    for (let minute = 0; minute < 60; minute++) {
      const base = Date.parse('2026-07-01T12:00:00Z') + minute * 60_000;
      for (const offset of [800, 20_000, 40_000]) {
        clock = new Date(base + offset);
        await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
        // Finished at once, so only the fire record (not the active-run index) can stop a second run of a minute.
        await finishRuns();
      }
    }
    const f = await fires(e._id);
    expect(f).to.have.length(60);
    expect(f.every((r) => r.outcome === 'queued' && r.run_id)).to.equal(true);
    const list = await runs(e._id);
    expect(list).to.have.length(60);
    expect(new Set(list.map((r) => r.fire_time.toISOString())).size).to.equal(60);
    expect(list.every((r) => r.trigger === 'schedule')).to.equal(true);
  });

  it('R-SCHED-5 R-SCALE-2 a schedule change reaches another running instance within 5 s; a deleted export stops firing', async () => {
    clock = new Date('2026-08-01T10:00:30Z');
    const other = secondScheduler(0, 200);
    other.start();
    const { export: e } = await put({ export: { name: 'changing' }, _schedules: [{ cron: '0 12 * * *' }] });
    await app.request.post(`/api/v1/export/${e._id}`).query({ token }).send({ export: {}, _schedules: [{ cron: '* * * * *' }] }).expect(200);
    clock = new Date('2026-08-01T10:01:02Z');
    const started = Date.now();
    await eventually(async () => (await runs(e._id)).length === 1, 5000);
    expect(Date.now() - started).to.be.below(5000);
    await app.request.delete(`/api/v1/export/${e._id}`).query({ token }).expect(200);
    clock = new Date('2026-08-01T10:02:02Z');
    await new Promise((r) => setTimeout(r, 600));
    expect(await app.db('schedule_fires').where({ export_id: e._id })).to.have.length(0); // cascaded, none new
  });

  it('R-SCHED-3 the scheduled run uses the owner rights: it runs with every session of the owner deleted', async () => {
    clock = new Date('2026-09-01T10:00:30Z');
    const { export: e } = await put({ export: { name: 'sessionless' }, _schedules: [{ cron: '* * * * *' }] });
    await app.db('sessions').where({ user_id: userId }).delete();
    clock = new Date('2026-09-01T10:01:01Z');
    await app.scheduler.tick();
    gate.releaseAll();
    const worker = app.createWorker({ pollMs: 50, heartbeatMs: 200 });
    worker.start();
    try {
      const run = await eventually(async () => {
        const [r] = await runs(e._id);
        return r?.state === 'done' ? r : null;
      });
      expect(run.owner_id).to.equal(userId);
      expect(run.trigger).to.equal('schedule');
    } finally {
      await worker.stop();
    }
  });
});
