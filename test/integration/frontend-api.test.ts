import { expect } from 'chai';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { FileProducer } from '../helpers/file-producer.js';

/** Issue 13 item 4: what the web page needs beyond the seed API (omit, runs); files and status have their own files. */
describe('API for the web page: omit and run history', function () {
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
});
