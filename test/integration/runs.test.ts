import { expect } from 'chai';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { GateProducer } from '../helpers/producers.js';
import { RunFailure } from '../../server/domain/errors.js';
import { claimRuns } from '../../server/domain/runs/lifecycle.js';

describe('run engine (R-ENG)', () => {
  let app: TestApp;
  let token: string;
  const gate = new GateProducer();
  const workers: Worker[] = [];
  const worker = (opts: Parameters<TestApp['createWorker']>[0] = {}) => {
    const w = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 200, ...opts });
    workers.push(w);
    w.start();
    return w;
  };
  const create = async (name: string, t = token) =>
    (await app.request.put('/api/v1/export').query({ token: t }).send({ export: { name } }).expect(200)).body.export._id as number;
  const get = async (id: number) => (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body;
  const stateIs = (id: number, state: string) => async () => ((await get(id))._state === state ? get(id) : null);

  before(async () => {
    app = await startTestApp({ producers: [gate] });
    token = (await app.login('runner')).token;
  });
  afterEach(async () => {
    gate.releaseAll();
    gate.failWith = null;
    for (const w of workers.splice(0)) await w.stop();
    gate.hold();
    await app.db('runs').whereIn('state', ['pending', 'processing']).update({ state: 'failed' });
    await app.db('exports').whereIn('state', ['pending', 'processing']).update({ state: 'failed' });
  });
  after(async () => app.close());

  it('R-OUT-5 R-OUT-6 a run goes from pending to done with manifest.json and checksums in _files', async () => {
    gate.releaseAll();
    const id = await create('first');
    worker();
    const done = await eventually(stateIs(id, 'done'));
    const paths = done._files.map((f: { path: string }) => f.path);
    expect(paths).to.deep.equal(['data.txt', 'manifest.json']);
    const data = done._files[0];
    const bytes = Buffer.from(`run ${done._last_run._id} of export ${id}\n`);
    const { createHash } = await import('node:crypto');
    const { crc32 } = await import('node:zlib');
    expect(data).to.deep.equal({
      path: 'data.txt',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      crc32: crc32(bytes),
      mime_type: 'text/plain',
    });
    const run = await app.db('runs').where({ id: done._last_run._id }).first();
    const manifestPath = `${app.dataDir}/storage/${run.files_prefix}manifest.json`;
    const { readFile } = await import('node:fs/promises');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    expect(manifest.export).to.include({ _id: id, name: 'first' });
    expect(manifest.run).to.include({ _id: run.id, trigger: 'create' });
    expect(manifest.run.started_at).to.be.a('string');
    expect(manifest.run.finished_at).to.be.a('string');
    expect(manifest.files).to.deep.equal([{ path: 'data.txt', size: bytes.length, sha256: data.sha256, mime_type: 'text/plain' }]);
    expect(done._log.map((e: { type: string }) => e.type)).to.include.members(['EXPORT_START', 'EXPORT_FINISH']);
  });

  it('R-ENG-1 two workers never do one run twice', async () => {
    gate.releaseAll();
    const ids = await Promise.all(['w1', 'w2', 'w3', 'w4', 'w5', 'w6'].map((n) => create(n)));
    const before = gate.executions.length;
    worker();
    worker();
    for (const id of ids) await eventually(stateIs(id, 'done'));
    const runs = gate.executions.slice(before).map((e) => e.runId);
    expect(new Set(runs).size).to.equal(runs.length);
    expect(runs).to.have.length(6);
  });

  it('R-ENG-5 progress is visible while processing', async () => {
    const id = await create('progress');
    worker();
    const p = await eventually(async () => {
      const e = await get(id);
      return e._state === 'processing' && e._progress?.objects_done === 3 ? e : null;
    });
    expect(p._progress).to.include({ objects_total: 10, objects_done: 3 });
    expect(p._progress.bytes_written).to.be.greaterThan(0);
  });

  // A worker that died leaves exactly this behind: its claim (state processing, locked_by it, attempts counted) and a
  // lease nobody renews. So the dead worker here is a claim with the queue's own statement; the same fault with real
  // processes and kill -9 is in spine-faults.test.ts.
  const claimAndVanish = async (exportId: number, leaseMs: number) => {
    const [run] = await claimRuns(app.db, `vanished-${exportId}`, 1, leaseMs);
    expect(run?.export_id).to.equal(exportId);
    return run;
  };

  it('R-ENG-2 a run whose worker died is taken over by another worker and finished', async () => {
    gate.releaseAll();
    const id = await create('orphan');
    await claimAndVanish(id, 600);
    expect((await get(id))._state).to.equal('processing');
    worker({ leaseMs: 600 });
    const done = await eventually(stateIs(id, 'done'));
    const run = await app.db('runs').where({ id: done._last_run._id }).first();
    expect(run.attempts).to.equal(2);
    expect(done._files.map((f: { path: string }) => f.path)).to.include('manifest.json');
  });

  it('R-ENG-2 after three lost attempts the run fails with a reason', async () => {
    const id = await create('cursed');
    const sweeper = app.createWorker({ leaseMs: 400, sweepMs: 100_000 });
    workers.push(sweeper);
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect((await claimAndVanish(id, 400)).attempts).to.equal(attempt);
      await new Promise((r) => setTimeout(r, 450));
      await sweeper.sweep();
    }
    const failed = await eventually(stateIs(id, 'failed'));
    expect(failed._failure_reason).to.match(/interrupted 3 times/);
    expect(failed._log.map((e: { type: string }) => e.type)).to.include('EXPORT_FAILED');
  });

  it('R-EXP-7 R-ENG-4 stop during a run: noticed within 2 s, previous files intact, no staging left', async () => {
    gate.releaseAll();
    const id = await create('stop-me');
    worker();
    const first = await eventually(stateIs(id, 'done'));
    gate.hold();
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    await eventually(stateIs(id, 'processing'));
    const runId = (await get(id))._last_run._id;
    const stoppedAt = Date.now();
    const s = await app.request.post(`/api/v1/export/${id}/stop`).query({ token }).expect(200);
    expect(s.body._state).to.equal('failed');
    expect(s.body._failure_reason).to.equal('stopped by user');
    await eventually(async () => !gate.waiting.has(runId), 2000, 20);
    expect(Date.now() - stoppedAt).to.be.lessThan(2000);
    const after = await get(id);
    expect(after._files).to.deep.equal(first._files);
    const { existsSync } = await import('node:fs');
    await eventually(async () => !existsSync(`${app.dataDir}/storage/exports/${id}/runs/${runId}`), 2000);
    const published = await app.db('runs').where({ id: first._last_run._id }).first();
    expect(existsSync(`${app.dataDir}/storage/${published.files_prefix}manifest.json`)).to.equal(true);
  });

  it('R-ENG-4 a failed run leaves the published files and reports a readable reason', async () => {
    gate.releaseAll();
    const id = await create('fragile');
    worker();
    const first = await eventually(stateIs(id, 'done'));
    gate.failWith = new RunFailure('The search matched an object that could not be read.');
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    const failed = await eventually(stateIs(id, 'failed'));
    expect(failed._failure_reason).to.equal('The search matched an object that could not be read.');
    expect(failed._files).to.deep.equal(first._files);
    gate.failWith = new Error('secret internal detail');
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    const again = await eventually(async () => {
      const e = await get(id);
      return e._state === 'failed' && e._last_run._id !== failed._last_run._id ? e : null;
    });
    expect(again._failure_reason).to.match(/internal error/);
    expect(again._failure_reason).not.to.include('secret');
  });

  it('R-ENG-3 at most WORKER_CONCURRENCY runs per process, one per export, fair across users', async () => {
    const other = (await app.login('second-user')).token;
    const mine = [await create('a1'), await create('a2'), await create('a3')];
    const theirs = await create('b1', other);
    worker({ concurrency: 2 });
    await eventually(async () => (await app.db('runs').where({ state: 'processing' })).length === 2);
    await new Promise((r) => setTimeout(r, 300));
    const processing = await app.db('runs').where({ state: 'processing' }).select('export_id');
    expect(processing).to.have.length(2);
    expect(processing.map((r) => r.export_id).sort()).to.deep.equal([mine[0], theirs].sort());
  });

  it('R-RUN-5 a worker that shuts down hands its runs back without counting the attempt', async () => {
    const id = await create('handover');
    const w = worker();
    await eventually(stateIs(id, 'processing'));
    await w.stop();
    workers.splice(workers.indexOf(w), 1);
    const run = await app.db('runs').where({ export_id: id }).first();
    expect(run).to.include({ state: 'pending', attempts: 0, locked_by: null });
    expect((await get(id))._state).to.equal('pending');
  });
});
