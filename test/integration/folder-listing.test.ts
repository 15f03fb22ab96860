import { expect } from 'chai';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { FileProducer, type PlannedFile } from '../helpers/file-producer.js';

const file = (path: string, size: number): PlannedFile => ({ path, data: Buffer.alloc(size, 7) });
const TREE: PlannedFile[] = [
  file('a.txt', 1),
  file('Z.txt', 2),
  file('b/1.txt', 10),
  file('b/2.txt', 20),
  file('b/c/3.bin', 300),
  file('b/c/d/4.bin', 4000),
  file('b/c2/x', 5),
  file('ä/ü 😀.txt', 6),
  file('b/e/f/g/h/deep.txt', 7),
];

type Entry = { kind: string; path: string; name: string; size: number; files?: number };

/** Issue 13 item 4: `GET …/export/<id>/files`, the paged folder listing of the published (or a retained) run. */
describe('API for the web page: folder listing of an export', function () {
  this.timeout(120_000);
  let app: TestApp;
  let token: string;
  let otherToken: string;
  let worker: Worker;
  const producer = new FileProducer();
  let id: number;
  let firstRun: number;

  const list = (query: Record<string, string | number> = {}, t = token, exportId = id, prefix = '/api/v1') =>
    app.request.get(`${prefix}/export/${exportId}/files`).query({ token: t, ...query });
  const publish = async (name: string, runs = 1) => {
    const exportId = (await app.request.put('/api/v1/export').query({ token }).send({ export: { name } }).expect(200))
      .body.export._id as number;
    for (let i = 0; i < runs; i++) {
      if (i > 0) await app.request.post(`/api/v1/export/${exportId}/start`).query({ token }).expect(200);
      await eventually(async () => {
        const done = await app.db('runs').where({ export_id: exportId, state: 'done' }).count({ n: '*' });
        return Number(done[0].n) > i;
      });
    }
    return exportId;
  };

  before(async () => {
    app = await startTestApp({ producers: [producer], env: { PREVIOUS_RUNS_KEPT: '2' } });
    token = (await app.login('lister')).token;
    otherToken = (await app.login('lister-other')).token;
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200 });
    worker.start();
    producer.plans.set('tree', (run) => {
      if (firstRun !== undefined) return [...TREE, file('b/new.txt', 1)];
      firstRun = run;
      return TREE;
    });
    id = await publish('tree', 2);
  });
  after(async () => {
    await worker?.stop();
    await app?.close();
  });

  it('lists the root: folders first with their file count and size, then files, each by name', async () => {
    const body = (await list().expect(200)).body;
    const manifest = (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body._files.find(
      (f: { path: string }) => f.path === 'manifest.json',
    );
    expect(body).to.include({ prefix: '', limit: 200, offset: 0, count: 5 });
    expect(body.entries).to.deep.equal([
      { kind: 'folder', path: 'b/', name: 'b', files: 7, size: 10 + 20 + 300 + 4000 + 5 + 7 + 1 },
      { kind: 'folder', path: 'ä/', name: 'ä', files: 1, size: 6 },
      {
        kind: 'file',
        path: 'Z.txt',
        name: 'Z.txt',
        size: 2,
        sha256: body.entries[2].sha256,
        crc32: body.entries[2].crc32,
        mime_type: 'text/plain',
      },
      { ...body.entries[3], kind: 'file', path: 'a.txt', name: 'a.txt', size: 1 },
      {
        kind: 'file',
        path: 'manifest.json',
        name: 'manifest.json',
        size: manifest.size,
        sha256: manifest.sha256,
        crc32: manifest.crc32,
        mime_type: manifest.mime_type,
      },
    ]);
    expect(body.entries[2].sha256).to.match(/^[0-9a-f]{64}$/);
    expect((await list({}, token, id, '/api/v1/v1').expect(200)).body).to.deep.equal(body);
  });

  it('lists nested folders by prefix, with counts and sizes of everything below', async () => {
    const b = (await list({ prefix: 'b/' }).expect(200)).body;
    expect(b).to.include({ prefix: 'b/', count: 6 });
    expect(b.entries.map((e: Entry) => [e.kind, e.path, e.files ?? null, e.size])).to.deep.equal([
      ['folder', 'b/c/', 2, 4300],
      ['folder', 'b/c2/', 1, 5],
      ['folder', 'b/e/', 1, 7],
      ['file', 'b/1.txt', null, 10],
      ['file', 'b/2.txt', null, 20],
      ['file', 'b/new.txt', null, 1],
    ]);
    const deep = (await list({ prefix: 'b/e/f/g/h/' }).expect(200)).body;
    expect(deep.entries.map((e: Entry) => [e.kind, e.name])).to.deep.equal([['file', 'deep.txt']]);
    const unicode = (await list({ prefix: 'ä/' }).expect(200)).body;
    expect(unicode.entries.map((e: Entry) => e.path)).to.deep.equal(['ä/ü 😀.txt']);
  });

  it('pages a folder: the pages together are the whole listing, count stays the same', async () => {
    const whole = (await list({ prefix: 'b/' }).expect(200)).body.entries;
    const pages: Entry[] = [];
    for (let offset = 0; offset < whole.length; offset += 4) {
      const page = (await list({ prefix: 'b/', limit: 4, offset }).expect(200)).body;
      expect(page).to.include({ limit: 4, offset, count: whole.length });
      pages.push(...page.entries);
    }
    expect(pages).to.deep.equal(whole);
    const past = (await list({ prefix: 'b/', offset: 50 }).expect(200)).body;
    expect(past).to.deep.include({ count: 6, entries: [] });
    expect((await list({ offset: 50 }).expect(200)).body).to.deep.include({ count: 5, entries: [] });
  });

  it('lists a retained run named by run, and 404s a run the export does not have', async () => {
    const b = (await list({ prefix: 'b/', run: firstRun }).expect(200)).body;
    expect(b.entries.map((e: Entry) => e.name)).to.deep.equal(['c', 'c2', 'e', '1.txt', '2.txt']);
    expect((await list({ run: 999_999 }).expect(404)).body.parameters).to.include({ type: 'run' });
    expect((await list({ run: 'first' }).expect(400)).body.parameters).to.include({ path: 'run' });
  });

  it('answers a prefix that is no folder of the run with 404, a malformed one with 400', async () => {
    for (const prefix of ['nope/', 'a.txt/', 'b/c/d/4.bin/', 'B/']) {
      const res = await list({ prefix }).expect(404);
      expect(res.body, prefix).to.deep.include({
        code: 'error.user.not_found',
        parameters: { type: 'folder', id: prefix },
      });
    }
    for (const prefix of ['b', '../', 'b/../', '/b/', 'b//', 'b\\c/']) {
      const res = await list({ prefix }).expect(400);
      expect(res.body, prefix).to.deep.include({ code: 'error.api.invalid_value' });
      expect(res.body.parameters.path).to.equal('prefix');
    }
    for (const [query, path] of [
      [{ limit: 0 }, 'limit'],
      [{ limit: 1001 }, 'limit'],
      [{ offset: 'x' }, 'offset'],
    ] as const) {
      expect((await list(query).expect(400)).body.parameters.path).to.equal(path);
    }
    const twice = await app.request.get(`/api/v1/export/${id}/files?prefix=b/&prefix=a/`).query({ token }).expect(400);
    expect(twice.body).to.deep.include({ code: 'error.api.type_mismatch', parameters: { path: 'prefix' } });
  });

  it("answers another user's export with 404", async () => {
    const res = await list({}, otherToken).expect(404);
    expect(res.body).to.deep.include({ code: 'error.user.not_found', parameters: { type: 'export', id } });
  });

  it('lists nothing for an export without published files (and 404s any folder of it)', async () => {
    const empty = (
      await app.request
        .put('/api/v1/export')
        .query({ token })
        .send({ export: { name: 'never' }, _schedules: [{ hours: [3] }] })
        .expect(200)
    ).body.export._id;
    expect((await list({}, token, empty).expect(200)).body).to.deep.equal({
      prefix: '',
      limit: 200,
      offset: 0,
      count: 0,
      entries: [],
    });
    await list({ prefix: 'b/' }, token, empty).expect(404);
  });

  it('pages a run of 100,000 files inside PostgreSQL', async () => {
    // Rows written by SQL: what matters is the listing over them, not producing them.
    const big = await publish('big');
    const runId = Number((await app.db('exports').where({ id: big }).first('published_run_id')).published_run_id);
    await app.db('run_files').where({ run_id: runId }).delete();
    await app.db.raw(
      `insert into run_files (run_id, ord, path, size, sha256, crc32, mime_type, mtime)
       select ?, n, 'f' || lpad((n % 100)::text, 2, '0') || '/file-' || lpad(n::text, 6, '0') || '.txt', n % 1000,
         repeat('0', 64), 0, 'text/plain', 0
       from generate_series(0, 99999) n`,
      [runId],
    );
    const root = (await list({ limit: 1000 }, token, big).expect(200)).body;
    expect(root.count).to.equal(100);
    expect(root.entries[0]).to.deep.equal({
      kind: 'folder',
      path: 'f00/',
      name: 'f00',
      files: 1000,
      size: Array.from({ length: 1000 }, (_, i) => (i * 100) % 1000).reduce((a, b) => a + b, 0),
    });
    const page = (await list({ prefix: 'f42/', limit: 3, offset: 997 }, token, big).expect(200)).body;
    expect(page.count).to.equal(1000);
    expect(page.entries.map((e: Entry) => e.name)).to.deep.equal([
      'file-099742.txt',
      'file-099842.txt',
      'file-099942.txt',
    ]);
  });
});
