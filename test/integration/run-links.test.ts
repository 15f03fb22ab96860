import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { deleteSupersededFiles } from '../../server/domain/runs/housekeeping.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { bytes } from '../helpers/archive/helpers.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { FileProducer, type PlannedFile } from '../helpers/file-producer.js';
import { baseUrl, rawRequest } from '../helpers/raw-http.js';

const run = promisify(execFile);

/** Exit code and output of a command line tool; never throws on a non-zero exit. */
async function tool(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(cmd, args, { timeout: 60_000 });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; stderr?: string };
    if (err.code === 'ENOENT') throw new Error(`${cmd} is not installed`);
    return { code: typeof err.code === 'number' ? err.code : -1, stderr: err.stderr ?? '' };
  }
}

/**
 * The partial file a cut download leaves: the first `n` bytes of the archive. Written from a complete response, so the
 * server never sees an abort here (aborts are the fault suite's subject); what is tested is the tools' resume.
 */
const partial = (file: string, whole: Buffer, n: number) => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, whole.subarray(0, n));
};

// Different bytes in every run, a few MB so the cut lands inside a file's data.
const plan = (runId: number): PlannedFile[] => [
  { path: 'version.txt', data: Buffer.from(`run ${runId}\n`) },
  { path: 'data/a.bin', data: bytes(2_500_000, runId) },
  { path: 'data/b.bin', data: bytes(1_500_000, runId + 100) },
];

describe('run-named links survive a re-run (R-ROB-9, issue 8 item 3)', function () {
  this.timeout(180_000);
  let app: TestApp;
  let token: string;
  let worker: Worker;
  let tmp: string;
  const producer = new FileProducer();

  const binary = (res: unknown, cb: (err: Error | null, body: Buffer) => void) => {
    const parts: Buffer[] = [];
    (res as http.IncomingMessage).on('data', (c: Buffer) => parts.push(c));
    (res as http.IncomingMessage).on('end', () => cb(null, Buffer.concat(parts)));
  };
  const get = (url: string, headers: Record<string, string> = {}) => app.request.get(url).set(headers).redirects(0).buffer(true).parse(binary);
  const view = async (id: number) => (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body;
  const publishedAfter = (id: number, previous: number) =>
    eventually(async () => {
      const e = await view(id);
      return e._state === 'done' && e._last_run?._id > previous && e._transports.every((t: { _state: string }) => t._state === 'done') ? e : null;
    }, 30_000);
  /** No delivery of the export still pending or processing (such runs keep their files, whatever the rule says). */
  const deliveriesSettled = (id: number) =>
    eventually(async () => {
      const [{ n }] = await app.db('transport_deliveries').where({ export_id: id }).whereIn('state', ['pending', 'processing']).count({ n: '*' });
      return Number(n) === 0 ? true : null;
    }, 30_000);
  const rerun = async (id: number, previous: number) => {
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    return publishedAfter(id, previous);
  };
  const create = async (name: string, packer = 'zip') => {
    producer.plans.set(name, plan);
    const body = { export: { name }, _transports: [{ type: 'download', packer }] };
    const id = (await app.request.put('/api/v1/export').query({ token }).send(body).expect(200)).body.export._id as number;
    return { id, e: await publishedAfter(id, 0) };
  };
  /** The first `_download` link of an export view: its path and the run it names. */
  const linkOf = (e: { _last_run: { _id: number }; _transports: { _download: { _files: { url: string }[] } }[] }) => {
    const url = new URL(e._transports[0]._download._files[0].url).pathname;
    expect(url).to.include(`/run/${e._last_run._id}/`);
    return { url, alias: url.replace(`/run/${e._last_run._id}/`, '/') };
  };

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'em-run-links-'));
    app = await startTestApp({ producers: [producer] });
    token = (await app.login('resumer')).token;
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 600_000 });
    worker.start();
  });
  after(async () => {
    await worker?.stop();
    await app?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('curl -C - and wget -c resume a cut run-named link after a re-run: byte-identical to the first run', async () => {
    const { id, e: first } = await create('Resume');
    const link = linkOf(first);
    const v1 = (await get(link.url).expect(200)).body;
    const url = baseUrl(app.server) + link.url;
    const curlFile = path.join(tmp, 'curl', 'Resume.zip');
    const wgetDir = path.join(tmp, 'wget');
    partial(curlFile, v1, 1_000_003);
    // wget names the file after the last path segment: the run-named path keeps the archive's name there.
    partial(path.join(wgetDir, 'Resume.zip'), v1, 2_700_001);

    const second = await rerun(id, first._last_run._id);
    const v2 = (await get(linkOf(second).url).expect(200)).body;
    expect(v2.equals(v1)).to.equal(false);

    const c = await tool('curl', ['-sS', '-C', '-', '-o', curlFile, url]);
    expect(c.code, c.stderr).to.equal(0);
    expect(readFileSync(curlFile).equals(v1)).to.equal(true);
    const w = await tool('wget', ['-q', '-c', '-P', wgetDir, url]);
    expect(w.code, w.stderr).to.equal(0);
    expect(readFileSync(path.join(wgetDir, 'Resume.zip')).equals(v1)).to.equal(true);
  });

  it('the stable alias follows the latest run: If-Range clients get the whole new archive; curl -C - cannot be warned', async () => {
    const { id, e: first } = await create('Alias');
    const { alias } = linkOf(first);
    const v1 = await get(alias).expect(200);
    const file = path.join(tmp, 'alias', 'Alias.zip');
    partial(file, v1.body, 1_000_000);
    const second = await rerun(id, first._last_run._id);
    const v2 = (await get(linkOf(second).url).expect(200)).body;
    // A browser or aria2 resumes with If-Range: the validator no longer matches, so the new archive comes whole.
    const resumed = await get(alias, { Range: 'bytes=1000000-', 'If-Range': v1.headers.etag }).expect(200);
    expect(resumed.body.equals(v2)).to.equal(true);
    // curl -C - sends a bare Range: the alias cannot tell a resume of run 1 from one of run 2 and appends run 2's
    // tail. Documented as unsafe in the README; the run-named link is the safe one.
    const c = await tool('curl', ['-sS', '-C', '-', '-o', file, baseUrl(app.server) + alias]);
    expect(c.code).to.equal(0);
    expect(readFileSync(file).equals(Buffer.concat([v1.body.subarray(0, 1_000_000), v2.subarray(1_000_000)]))).to.equal(true);
  });

  it('once a previous run is no longer kept its link fails loudly (410 / export.run.gone); curl and wget leave the part untouched', async () => {
    const { id, e: first } = await create('Gone');
    const link = linkOf(first);
    const url = baseUrl(app.server) + link.url;
    const curlFile = path.join(tmp, 'gone-curl', 'Gone.zip');
    const wgetDir = path.join(tmp, 'gone-wget');
    const part = (await get(link.url).expect(200)).body.subarray(0, 1_000_000);
    partial(curlFile, part, part.length);
    partial(path.join(wgetDir, 'Gone.zip'), part, part.length);
    const second = await rerun(id, first._last_run._id);
    // Previous runs replaced longer ago than the TTL lose their files.
    expect(await deleteSupersededFiles(app.db, app.storage, { ttlMs: 0, kept: 2 })).to.be.greaterThan(0);
    expect((await app.db('runs').where({ id: first._last_run._id }).first()).files_deleted_at).not.to.equal(null);

    // A browser following the link gets the page with the key; a resume (Range) gets the 410 itself.
    const page = await rawRequest(app.server, link.url);
    expect(page.status).to.equal(302);
    expect(page.headers.location).to.equal('/#server_error:export.run.gone');
    const r = await rawRequest(app.server, link.url, { headers: { Range: 'bytes=1000000-' } });
    expect(r.status).to.equal(410);
    expect(JSON.parse(r.body.toString())).to.include({ realm: 'user', code: 'error.user.run_gone' });
    // The latest run's link and the alias still work.
    await get(linkOf(second).url).expect(200);
    await get(link.alias).expect(200);

    const c = await tool('curl', ['-sS', '-C', '-', '-o', curlFile, url]);
    expect(c.code, 'curl -C - must not report success').not.to.equal(0);
    expect(readFileSync(curlFile).equals(part)).to.equal(true);
    const w = await tool('wget', ['-q', '-c', '-P', wgetDir, url]);
    expect(w.code, 'wget -c must not report success').not.to.equal(0);
    expect(readFileSync(path.join(wgetDir, 'Gone.zip')).equals(part)).to.equal(true);
  });

  it('zip/ and file/ take ?run=: a kept run serves its own bytes, a removed one answers 410, anything else a clear error', async () => {
    const { id, e: first } = await create('Pinned');
    const r1 = first._last_run._id as number;
    const zip1 = (await get(`/api/v1/export/${id}/zip?token=${token}`).expect(200)).body;
    const second = await rerun(id, r1);
    const zipNow = (await get(`/api/v1/export/${id}/zip?token=${token}`).expect(200)).body;
    expect(zipNow.equals(zip1)).to.equal(false);
    const pinned = await get(`/api/v1/export/${id}/zip?token=${token}&run=${r1}`).expect(200);
    expect(pinned.body.equals(zip1)).to.equal(true);
    const tail = await get(`/api/v1/export/${id}/zip?token=${token}&run=${r1}`, { Range: 'bytes=1000-' }).expect(206);
    expect(tail.body.equals(zip1.subarray(1000))).to.equal(true);
    expect((await get(`/api/v1/export/${id}/file/version.txt?token=${token}&run=${r1}`).expect(200)).body.toString()).to.equal(`run ${r1}\n`);
    const latest = second._last_run._id as number;
    expect((await get(`/api/v1/export/${id}/zip?token=${token}&run=${latest}`).expect(200)).body.equals(zipNow)).to.equal(true);

    for (const bad of ['abc', '0', '-1', '1e3', '99999999999999999999']) {
      const r = await app.request.get(`/api/v1/export/${id}/zip`).query({ token, run: bad }).expect(400);
      expect(r.body).to.include({ code: 'error.api.invalid_value' });
      expect(r.body.parameters.path).to.equal('run');
    }
    const unknown = await app.request.get(`/api/v1/export/${id}/zip`).query({ token, run: '999999' }).expect(404);
    expect(unknown.body.parameters).to.deep.equal({ type: 'run', id: 999999 });

    await deleteSupersededFiles(app.db, app.storage, { ttlMs: 0, kept: 2 });
    const gone = await app.request.get(`/api/v1/export/${id}/zip`).query({ token, run: String(r1) }).expect(410);
    expect(gone.body).to.include({ realm: 'user', code: 'error.user.run_gone' });
    expect(gone.body.parameters).to.deep.equal({ type: 'run', id: r1 });
    await app.request.get(`/api/v1/export/${id}/file/version.txt`).query({ token, run: String(r1) }).expect(410);
    const browser = await rawRequest(app.server, `/api/v1/export/${id}/zip?token=${token}&run=${r1}&disposition=attachment`);
    expect(browser.status).to.equal(302);
    expect(browser.headers.location).to.equal('/#server_error:export.run.gone');
  });

  it('retention: previous runs keep their files for PREVIOUS_RUNS_TTL, at most PREVIOUS_RUNS_KEPT of them (10 minutes for in-flight downloads)', async () => {
    const { id, e: first } = await create('Kept');
    const runs = [first._last_run._id as number];
    for (let i = 0; i < 3; i++) runs.push((await rerun(id, runs[runs.length - 1]))._last_run._id);
    const withFiles = async () =>
      ((await app.db('runs').where({ export_id: id }).whereNull('files_deleted_at').orderBy('id').select('id')) as { id: number }[]).map((r) => r.id);
    const storedRuns = () => {
      try {
        return readFileSync(path.join(app.dataDir, 'storage', 'exports', String(id), 'runs', String(runs[0]), '1', 'version.txt'), 'utf8');
      } catch {
        return null;
      }
    };
    expect(storedRuns()).to.equal(`run ${runs[0]}\n`);
    await deliveriesSettled(id);
    const rule = { ttlMs: 24 * 3_600_000, kept: 1 };
    // Just replaced: beyond the kept count, but downloads started before the new publish may still be running.
    expect(await deleteSupersededFiles(app.db, app.storage, rule)).to.equal(0);
    expect(await withFiles()).to.deep.equal(runs);
    // 11 minutes later: only the newest previous run (and the published one) keep their files.
    await app.db('runs').where({ export_id: id }).update({ finished_at: app.db.raw("finished_at - interval '11 minutes'") });
    expect(await deleteSupersededFiles(app.db, app.storage, rule)).to.equal(2);
    expect(await withFiles()).to.deep.equal(runs.slice(2));
    expect(storedRuns()).to.equal(null);
    // A day later the kept previous run goes too; the published run never does.
    await app.db('runs').where({ export_id: id }).update({ finished_at: app.db.raw("finished_at - interval '1 day'") });
    expect(await deleteSupersededFiles(app.db, app.storage, rule)).to.equal(1);
    expect(await withFiles()).to.deep.equal(runs.slice(3));
    expect(await deleteSupersededFiles(app.db, app.storage, { ttlMs: 0, kept: 0 })).to.equal(0);
    await get(linkOf(await view(id)).url).expect(200);
    // An expired export (no published run any more) keeps no previous run either.
    await rerun(id, runs[3]);
    await deliveriesSettled(id);
    await app.db('exports').where({ id }).update({ published_run_id: null });
    expect(await deleteSupersededFiles(app.db, app.storage, { ttlMs: 3_600_000, kept: 5 })).to.equal(2);
    expect(await withFiles()).to.deep.equal([]);
  });

  it('retention: a run whose bytes could not be deleted is tried again; one with deliveries still pending keeps its files', async () => {
    const { id, e: first } = await create('Retry');
    const r1 = first._last_run._id as number;
    const r2 = (await rerun(id, r1))._last_run._id as number;
    await deliveriesSettled(id);
    await app.db('runs').where({ export_id: id }).update({ finished_at: app.db.raw("finished_at - interval '2 days'") });
    const folder = path.join(app.dataDir, 'storage', 'exports', String(id), 'runs', String(r1));
    const deletedAt = async () => ((await app.db('runs').where({ id: r1 }).first('files_deleted_at')) as { files_deleted_at: Date | null }).files_deleted_at;
    // A delivery of run 1 still in progress (as if another instance held it; 'pending' would be picked up by this
    // process's runner at once): its files stay.
    expect(await app.db('transport_deliveries').where({ run_id: r1 }).update({ state: 'processing' })).to.be.greaterThan(0);
    expect(await deleteSupersededFiles(app.db, app.storage, { ttlMs: 0, kept: 0 })).to.equal(0);
    expect(existsSync(folder)).to.equal(true);
    await app.db('transport_deliveries').where({ run_id: r1 }).update({ state: 'done' });
    // Storage fails once (fault injection around the real storage): the rows say "files present" again.
    const failing = Object.assign(Object.create(app.storage), { deletePrefix: () => Promise.reject(new Error('EIO: disk failed')) });
    let thrown: unknown = null;
    await deleteSupersededFiles(app.db, failing, { ttlMs: 0, kept: 0 }).catch((e) => {
      thrown = e;
    });
    expect(String(thrown)).to.include('EIO');
    expect(await deletedAt()).to.equal(null);
    expect(existsSync(folder)).to.equal(true);
    // The next sweep, with storage working again, deletes them.
    expect(await deleteSupersededFiles(app.db, app.storage, { ttlMs: 0, kept: 0 })).to.equal(1);
    expect(await deletedAt()).to.be.instanceOf(Date);
    expect(existsSync(folder)).to.equal(false);
    expect(r2).to.be.greaterThan(r1);
  });
});
