import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

type Obj = Record<string, any>;

describe('csv.escape_formulas (OWASP CSV injection)', function () {
  this.timeout(30_000);
  let app: TestApp;
  let token: string;
  let worker: Worker;

  before(async () => {
    app = await startTestApp();
    token = (await app.login('alice')).token;
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 60_000 });
    worker.start();
    await app.request
      .put('/api/v1/db/note')
      .query({ token })
      .send([{ _objecttype: 'note', note: { text: '=HYPERLINK("http://evil","x")', n: -5 } }])
      .expect(200);
  });
  after(async () => {
    await worker.stop();
    await app.close();
  });

  const csvOf = async (csv: unknown): Promise<string[][]> => {
    const id = (await app.request.put('/api/v1/export').query({ token }).send({ export: { csv } }).expect(200)).body.export._id;
    const done = await eventually(async () => {
      const v = (await app.request.get(`/api/v1/export/${id}`).query({ token })).body as Obj;
      return v._state === 'done' || v._state === 'failed' ? v : null;
    });
    expect(done._state, done._failure_reason).to.equal('done');
    const exp = await app.db('exports').where({ id }).first();
    const run = await app.db('runs').where({ id: exp.published_run_id }).first();
    return parse(await readFile(path.join(app.dataDir, 'storage', run.files_prefix, 'objects.csv'), 'utf8'));
  };

  it('is off by default and defuses formula cells when on', async () => {
    const plain = await csvOf(true);
    const col = plain[0]!.indexOf('text');
    expect(plain[1]![col]).to.equal('=HYPERLINK("http://evil","x")');
    const safe = await csvOf({ escape_formulas: true });
    expect(safe[1]![safe[0]!.indexOf('text')]).to.equal('\'=HYPERLINK("http://evil","x")');
    expect(safe[1]![safe[0]!.indexOf('n')]).to.equal('-5');
  });

  it('is a boolean: anything else is a 400 error.api.* about export.csv', async () => {
    const r = await app.request.put('/api/v1/export').query({ token }).send({ export: { csv: { escape_formulas: 'yes' } } }).expect(400);
    expect(r.body.realm).to.equal('api');
    expect(r.body.parameters.path).to.match(/^export\.csv/);
  });
});
