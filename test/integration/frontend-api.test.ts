import { expect } from 'chai';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { compileSchedules, nextFireAfter } from '../../server/domain/schedules/index.js';
import { FileProducer } from '../helpers/file-producer.js';

/** Issue 13 item 4: what the web page needs beyond the seed API (omit, runs, schedule preview); files and status have their own files. */
describe('API for the web page: omit, run history, schedule preview', function () {
  this.timeout(60_000);
  let app: TestApp;
  let token: string;
  let otherToken: string;
  let worker: Worker;
  const producer = new FileProducer();

  const create = async (name: string) =>
    (await app.request.put('/api/v1/export').query({ token }).send({ export: { name } }).expect(200)).body.export
      ._id as number;
  const get = async (id: number, query: Record<string, string> = {}) =>
    (
      await app.request
        .get(`/api/v1/export/${id}`)
        .query({ token, ...query })
        .expect(200)
    ).body;
  const done = (id: number, runs = 1) =>
    eventually(async () => {
      const e = await get(id);
      const finished = await app
        .db('runs')
        .where({ export_id: id })
        .whereIn('state', ['done', 'failed'])
        .count({ n: '*' });
      return e._state === 'done' && Number(finished[0].n) >= runs ? e : null;
    });

  before(async () => {
    app = await startTestApp({ producers: [producer] });
    token = (await app.login('page-user')).token;
    otherToken = (await app.login('page-other')).token;
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200 });
    worker.start();
  });
  after(async () => {
    await worker?.stop();
    await app?.close();
  });

  describe('GET /export/<id>?omit=', () => {
    let id: number;
    before(async () => {
      producer.plans.set('omit', [{ path: 'a.txt', data: Buffer.from('a') }]);
      id = await create('omit');
      await done(id);
    });

    it('leaves out _files, _log or both, and nothing else', async () => {
      const full = await get(id);
      expect(full._files.map((f: { path: string }) => f.path)).to.deep.equal(['a.txt', 'manifest.json']);
      expect(full._log.length).to.be.greaterThan(0);
      for (const [omit, gone] of [
        ['_files', ['_files']],
        ['_log', ['_log']],
        ['_files,_log', ['_files', '_log']],
        ['_log,_files', ['_files', '_log']],
        ['', []],
      ] as const) {
        for (const prefix of ['/api/v1', '/api/v1/v1']) {
          const body = (await app.request.get(`${prefix}/export/${id}`).query({ token, omit }).expect(200)).body;
          const expected = { ...full };
          for (const k of gone) delete expected[k];
          expect(body, `omit=${omit}`).to.deep.equal(expected);
        }
      }
    });

    it('answers an unknown or repeated omit value with 400 naming omit', async () => {
      for (const omit of ['_schedules', '_files,', 'files', '_files,_nope']) {
        const res = await app.request.get(`/api/v1/export/${id}`).query({ token, omit }).expect(400);
        expect(res.body).to.include({ code: 'error.api.invalid_value' });
        expect(res.body.parameters.path).to.equal('omit');
      }
      const twice = await app.request.get(`/api/v1/export/${id}?omit=_files&omit=_log`).query({ token }).expect(400);
      expect(twice.body.code).to.equal('error.api.type_mismatch');
      expect(twice.body.parameters.path).to.equal('omit');
    });

    it("answers another user's export with 404", async () => {
      const res = await app.request
        .get(`/api/v1/export/${id}`)
        .query({ token: otherToken, omit: '_files' })
        .expect(404);
      expect(res.body).to.include({ code: 'error.user.not_found' });
    });
  });

  describe('GET /export/<id>/runs', () => {
    let id: number;
    const runs = (query: Record<string, string | number> = {}, t = token, prefix = '/api/v1') =>
      app.request.get(`${prefix}/export/${id}/runs`).query({ token: t, ...query });
    before(async () => {
      producer.plans.set('history', (run) => [
        { path: 'data.csv', data: Buffer.from(`run ${run}\n`) },
        { path: 'sub/x.bin', data: Buffer.alloc(run % 7) },
      ]);
      id = await create('history');
      await done(id, 1);
      await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
      await done(id, 2);
      producer.hold('history');
      await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
      await eventually(async () => (await get(id))._state === 'processing');
      await app.request.post(`/api/v1/export/${id}/stop`).query({ token }).expect(200);
      producer.release('history');
    });

    it('lists every run newest first, with figures of the finished ones and the reason of the failed one', async () => {
      const body = (await runs().expect(200)).body;
      expect(body).to.include({ limit: 20, offset: 0, count: 3 });
      const [stopped, second, first] = body.objects;
      expect(body.objects.map((r: { _id: number }) => r._id)).to.deep.equal(
        [stopped._id, second._id, first._id].sort((a, b) => b - a),
      );
      expect(first).to.include({ trigger: 'create', state: 'done', objects: 2, files: 3, failure_reason: null });
      expect(second).to.include({ trigger: 'start', state: 'done', objects: 2, files: 3 });
      expect(stopped).to.include({
        trigger: 'start',
        state: 'failed',
        objects: null,
        files: null,
        bytes: null,
        failure_reason: 'stopped by user',
      });
      // The published run's figures agree with its _files; the duration with its timestamps.
      const published = await get(id);
      expect(published._last_run._id).to.equal(stopped._id);
      const row = await app.db('exports').where({ id }).first('published_run_id');
      expect(Number(row.published_run_id)).to.equal(second._id);
      const sum = published._files.reduce((n: number, f: { size: number }) => n + f.size, 0);
      expect(second.bytes).to.equal(sum);
      for (const r of [first, second, stopped]) {
        // The timestamps show whole milliseconds, the duration is rounded from microseconds.
        expect(r.duration_ms).to.be.closeTo(Date.parse(r.finished_at) - Date.parse(r.started_at), 1);
        expect(Date.parse(r.created_at)).to.be.at.most(Date.parse(r.started_at));
      }
    });

    it('pages with limit and offset, the same under both prefixes', async () => {
      const all = (await runs().expect(200)).body.objects;
      const pages = [];
      for (let offset = 0; offset < 4; offset += 2) {
        const page = (await runs({ limit: 2, offset }).expect(200)).body;
        expect(page).to.include({ limit: 2, offset, count: 3 });
        pages.push(...page.objects);
      }
      expect(pages).to.deep.equal(all);
      expect((await runs({ offset: 3 }).expect(200)).body).to.deep.include({ count: 3, objects: [] });
      expect((await runs({}, token, '/api/v1/v1').expect(200)).body.objects).to.deep.equal(all);
    });

    it('answers bad paging with 400 naming the parameter', async () => {
      for (const [query, path] of [
        [{ limit: 0 }, 'limit'],
        [{ limit: 201 }, 'limit'],
        [{ limit: 'ten' }, 'limit'],
        [{ offset: -1 }, 'offset'],
        [{ offset: '1.5' }, 'offset'],
      ] as const) {
        const res = await runs(query).expect(400);
        expect(res.body, JSON.stringify(query)).to.deep.include({
          code: 'error.api.invalid_value',
          parameters: { path },
        });
      }
      expect((await runs({ limit: 200 }).expect(200)).body.limit).to.equal(200);
    });

    it("answers another user's export and a missing one with 404", async () => {
      expect((await runs({}, otherToken).expect(404)).body).to.include({ code: 'error.user.not_found' });
      await app.request.get('/api/v1/export/999999/runs').query({ token }).expect(404);
      await app.request.get('/api/v1/export/x/runs').query({ token }).expect(400);
    });
  });

  describe('POST /schedule/preview', () => {
    const preview = (body: unknown, prefix = '/api/v1', t = token) =>
      app.request
        .post(`${prefix}/schedule/preview`)
        .query({ token: t })
        .send(body as object);
    /** What the scheduler itself computes: its compile (default time 03:00) and nextFireAfter, repeated. */
    const schedulerFires = (schedule: object, tz: string, from: Date, count: number) => {
      const compiled = compileSchedules([schedule as never], app.config.SCHEDULE_DEFAULT_TIME);
      const out: string[] = [];
      for (let t: Date | null = from; out.length < count; ) {
        t = nextFireAfter(compiled, tz, t);
        if (!t) break;
        out.push(t.toISOString());
      }
      return out;
    };

    it('gives the fires the scheduler computes, in a non-UTC zone across a DST change', async () => {
      const schedule = { weekdays: ['monday'], hours: [6], minutes: [30] };
      const from = '2026-03-20T00:00:00Z';
      for (const prefix of ['/api/v1', '/api/v1/v1']) {
        const body = (await preview({ schedule, timezone: 'Europe/Berlin', from, count: 4 }, prefix).expect(200)).body;
        expect(body.next).to.deep.equal(schedulerFires(schedule, 'Europe/Berlin', new Date(from), 4));
        // 06:30 in Berlin is 05:30 UTC in winter time and 04:30 UTC from 29 March (summer time).
        expect(body.next).to.deep.equal([
          '2026-03-23T05:30:00.000Z',
          '2026-03-30T04:30:00.000Z',
          '2026-04-06T04:30:00.000Z',
          '2026-04-13T04:30:00.000Z',
        ]);
      }
      const cron = { cron: '15 */6 * * *' };
      const ny = (await preview({ schedule: cron, timezone: 'America/New_York', from, count: 20 }).expect(200)).body
        .next;
      expect(ny).to.have.length(20);
      expect(ny).to.deep.equal(schedulerFires(cron, 'America/New_York', new Date(from), 20));
    });

    it('defaults to five fires from now in the server zone with the configured default time, like _next_run', async () => {
      const schedule = { weekdays: ['tuesday', 'friday'] };
      const before = Date.now();
      const { next } = (await preview({ schedule }).expect(200)).body;
      expect(next).to.have.length(5);
      expect(next[0]).to.match(/T03:00:00\.000Z$/);
      expect(Date.parse(next[0])).to.be.greaterThan(before);
      // The scheduler's own bookkeeping for an export with this schedule names the same next run.
      const saved = await app.request
        .put('/api/v1/export')
        .query({ token })
        .send({ export: { name: 'previewed' }, _schedules: [schedule] })
        .expect(200);
      expect(saved.body._next_run).to.equal(next[0]);
    });

    it('finds the fires of a sparse schedule years apart (29 February)', async () => {
      const body = { schedule: { cron: '0 6 29 2 *' }, from: '2026-01-01T00:00:00Z', timezone: 'UTC' };
      const { next } = (await preview(body).expect(200)).body;
      expect(next).to.deep.equal([2028, 2032, 2036, 2040, 2044].map((y) => `${y}-02-29T06:00:00.000Z`));
    });

    it('answers an invalid schedule with 400 and the path under schedule.', async () => {
      for (const [body, code, path] of [
        [{ schedule: { hours: [25] } }, 'error.api.invalid_value', 'schedule.hours[0]'],
        [{ schedule: { hours: [] } }, 'error.api.invalid_value', 'schedule.hours'],
        [{ schedule: { weekdays: ['funday'] } }, 'error.api.invalid_value', 'schedule.weekdays[0]'],
        [{ schedule: { hours: [6], at: 1 } }, 'error.api.attribute_not_accepted', 'schedule.at'],
        [{ schedule: { cron: '61 * * * *' } }, 'error.api.invalid_value', 'schedule.cron'],
        [{ schedule: { cron: '0 6 * * *', hours: [1] } }, 'error.api.attribute_not_accepted', 'schedule.hours'],
        [{ schedule: [] }, 'error.api.type_mismatch', 'schedule'],
        [{}, 'error.api.attribute_expected', 'schedule'],
        [{ schedule: {}, count: 21 }, 'error.api.invalid_value', 'count'],
        [{ schedule: {}, count: 0 }, 'error.api.invalid_value', 'count'],
        [{ schedule: {}, count: '5' }, 'error.api.type_mismatch', 'count'],
        [{ schedule: {}, from: 'yesterday' }, 'error.api.invalid_value', 'from'],
        [{ schedule: {}, timezone: 'Mars/Olympus' }, 'error.api.invalid_value', 'timezone'],
        [{ schedule: {}, every: 'day' }, 'error.api.attribute_not_accepted', 'every'],
      ] as const) {
        const res = await preview(body).expect(400);
        expect(res.body, JSON.stringify(body)).to.deep.include({ code, parameters: { path } });
      }
    });

    it('requires a session', async () => {
      const res = await app.request.post('/api/v1/schedule/preview').send({ schedule: {} }).expect(403);
      expect(res.body.code).to.equal('error.user.not_authenticated');
    });
  });
});
