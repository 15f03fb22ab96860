import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { buildServerOnce } from '../helpers/server-build.js';
import { eventually } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/cluster.js';
import { rememberSecret } from '../helpers/log-capture.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { type S3TestServer, startS3Server } from './transports/servers/s3-server.js';

type Json = Record<string, unknown>;

/**
 * Issue 11 item 4 (R-SCALE-1, R-SCALE-2): compiled processes as `npm start` runs them, two ROLE=api and two
 * ROLE=worker, each with a DATA_DIR of its own, sharing one PostgreSQL and one s3rver (STORAGE=s3) and nothing else.
 * The test process only speaks HTTP to the two API instances and reads rows.
 */
describe('many instances: two API processes and two workers share one PostgreSQL and one S3 store (issue 11)', function () {
  this.timeout(120_000);
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let s3: S3TestServer;
  const dirs: string[] = [];
  let a: ServerProcess;
  let b: ServerProcess;
  let workers: ServerProcess[] = [];
  let token: string;
  let scheduled: { id: number; fire: Date };
  const secretKey = randomBytes(32).toString('hex');
  rememberSecret(secretKey);

  const env = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'em-many-'));
    dirs.push(dir);
    return {
      DATABASE_URL: database.url,
      DATA_DIR: dir,
      // One key for all: a session token signed by A is valid on B.
      SECRET_KEY: secretKey,
      STORAGE: 's3',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: 'many',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      LOG_LEVEL: 'info',
      TZ: 'UTC',
      WORKER_CONCURRENCY: '2',
    };
  };
  const call = async (server: ServerProcess, method: string, p: string, body?: unknown, raw?: Buffer) => {
    const sep = p.includes('?') ? '&' : '?';
    const res = await fetch(`${server.url}${p}${sep}token=${token}`, {
      method,
      headers: raw
        ? { 'Content-Type': 'application/octet-stream' }
        : body
          ? { 'Content-Type': 'application/json' }
          : {},
      body: raw ? new Uint8Array(raw) : body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return JSON.parse(text) as Json;
  };
  const bytes = async (server: ServerProcess, p: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${p}${p.includes('?') ? '&' : '?'}token=${token}`, { headers });
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };
  const exportOf = async (server: ServerProcess, id: number) =>
    (await call(server, 'GET', `/api/v1/export/${id}`)) as {
      _state: string;
      _failure_reason?: string;
      _files: { path: string; size: number }[];
    };
  /** A run held mid-way: an ACCESS EXCLUSIVE lock on `objects` blocks its producer's first query (as in spine-faults). */
  const holdObjects = async () => {
    const c = new pg.Client({ connectionString: database.url });
    c.on('error', () => {});
    await c.connect();
    await c.query('begin');
    await c.query('lock table objects in access exclusive mode');
    return async () => {
      await c.query('rollback').catch(() => {});
      await c.end().catch(() => {});
    };
  };
  const waiters = async () => {
    const { rows } = await database.db.raw(
      "select count(*)::int as n from pg_locks where relation = 'objects'::regclass and not granted",
    );
    return rows[0].n as number;
  };

  before(async function () {
    this.timeout(240_000);
    buildServerOnce();
    database = await createTestDatabase();
    const s3Dir = mkdtempSync(path.join(os.tmpdir(), 'em-many-s3-'));
    dirs.push(s3Dir);
    s3 = await startS3Server(s3Dir, 'many');
    // A first: it migrates and seeds the demo users; the others find the database ready.
    a = await startServerProcess({ ...env(), ROLE: 'api' });
    [b, ...workers] = await Promise.all([
      startServerProcess({ ...env(), ROLE: 'api' }),
      startServerProcess({ ...env(), ROLE: 'worker' }, 'worker started'),
      startServerProcess({ ...env(), ROLE: 'worker' }, 'worker started'),
    ]);
    const res = await fetch(`${a.url}/api/v1/session`);
    token = ((await res.json()) as { token: string }).token;
    rememberSecret(token);
    await call(a, 'POST', '/api/v1/session/authenticate?login=demo&password=demo');

    // Schedules fire on whole minutes: the edit is made first, so the wait for its minute overlaps the other tests.
    const created = await call(a, 'PUT', '/api/v1/export', {
      export: { name: 'Scheduled', type: 'export', csv: true },
      _schedules: [{ cron: '0 3 1 1 *' }],
    });
    const id = (created.export as { _id: number })._id;
    // The next whole minute at least 4 s ahead, so the edit commits before it.
    const fire = new Date(Math.ceil((Date.now() + 4_000) / 60_000) * 60_000);
    await call(a, 'POST', `/api/v1/export/${id}`, {
      export: { name: 'Scheduled' },
      _schedules: [{ cron: `${fire.getUTCMinutes()} ${fire.getUTCHours()} * * *` }],
    });
    const seen = await call(b, 'GET', `/api/v1/export/${id}`);
    expect(seen._next_run).to.equal(fire.toISOString());
    scheduled = { id, fire };
  });
  after(async () => {
    for (const p of [a, b, ...workers]) await p?.stop();
    await s3?.close();
    await database?.drop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('serves one export from either API: upload through A, a worker runs it, B and A give the same bytes, a cut download resumes on the other', async () => {
    const asset = randomBytes(1_500_000);
    const uploaded = await call(a, 'POST', '/api/v1/eas/put?filename=shared.bin', undefined, asset);
    await call(a, 'PUT', '/api/v1/db/photo', [
      { _objecttype: 'photo', photo: { title: 'shared', image: [{ _id: uploaded._id }] } },
    ]);
    const created = await call(a, 'PUT', '/api/v1/export', {
      export: { name: 'Shared', type: 'export', csv: true, json: true, eas_fields: { 'photo.image': { files: true } } },
    });
    const id = (created.export as { _id: number })._id;
    const exp = await eventually(async () => {
      const e = await exportOf(b, id);
      if (e._state === 'failed') throw new Error(`the export failed: ${e._failure_reason}`);
      return e._state === 'done' ? e : null;
    }, 30_000);
    const run = await database.db('runs').where({ export_id: id }).first();
    const ranBy = workers.filter(
      (w) => w.output().includes(`"run_id":${run.id}`) && w.output().includes('run published'),
    );
    expect(ranBy, 'the worker that published the run').to.have.length(1);

    // The asset's copy in the export, read through B, is the uploaded bytes.
    const copy = exp._files.find((f) => f.size === asset.length);
    expect(copy, JSON.stringify(exp._files)).to.not.equal(undefined);
    const viaB = await bytes(b, `/api/v1/export/${id}/file/${copy!.path.split('/').map(encodeURIComponent).join('/')}`);
    expect(viaB.status).to.equal(200);
    expect(viaB.body.equals(asset)).to.equal(true);

    const zipA = await bytes(a, `/api/v1/export/${id}/zip`);
    const zipB = await bytes(b, `/api/v1/export/${id}/zip`);
    expect(zipA.status).to.equal(200);
    expect(zipB.status).to.equal(200);
    expect(zipA.body.length).to.be.greaterThan(asset.length);
    expect(zipB.body.equals(zipA.body), 'zip/ through B equals zip/ through A').to.equal(true);

    // Interrupted after the first half on A, resumed with a Range request on B.
    const half = Math.floor(zipA.body.length / 2);
    const first = await bytes(a, `/api/v1/export/${id}/zip`, { Range: `bytes=0-${half - 1}` });
    const rest = await bytes(b, `/api/v1/export/${id}/zip`, { Range: `bytes=${half}-` });
    expect([first.status, rest.status]).to.deep.equal([206, 206]);
    expect(Buffer.concat([first.body, rest.body]).equals(zipA.body), 'resumed download').to.equal(true);
  });

  it('a stop sent to B stops the run within 2 s on whichever worker holds it', async () => {
    const release = await holdObjects();
    try {
      const created = await call(a, 'PUT', '/api/v1/export', { export: { name: 'Held', type: 'export', csv: true } });
      const id = (created.export as { _id: number })._id;
      const run = await eventually(async () => {
        const r = await database.db('runs').where({ export_id: id, state: 'processing' }).first();
        return r && (await waiters()) > 0 ? r : null;
      }, 20_000);
      const holder = workers.find((w) => w.output().includes(`"run_id":${run.id}`));
      const stoppedAt = Date.now();
      await call(b, 'POST', `/api/v1/export/${id}/stop`);
      const saw = (w: ServerProcess, msg: string) =>
        w
          .output()
          .split('\n')
          .some((l) => l.includes(msg) && l.includes(`"run_id":${run.id}`));
      // The holder fires the run's abort signal: the producer's statement, blocked on the lock, ends with it.
      const stopping = (w: ServerProcess) => saw(w, 'run no longer ours');
      await eventually(async () => workers.some(stopping), 5_000, 20);
      const elapsed = Date.now() - stoppedAt;
      expect(elapsed, 'ms from the stop to the holder aborting').to.be.lessThan(2000);
      expect(workers.filter(stopping)).to.have.length(1);
      if (holder) expect(stopping(holder)).to.equal(true);
      expect((await exportOf(a, id))._state).to.equal('failed');
      await release();
      await eventually(async () => workers.some((w) => saw(w, '"msg":"run aborted"')), 10_000);
      expect((await database.db('runs').where({ export_id: id }).first()).state).to.equal('failed');
    } finally {
      await release();
    }
  });

  it('a schedule edited on A fires on one worker exactly once', async () => {
    const { id, fire } = scheduled;
    const wait = fire.getTime() - Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    await eventually(async () => database.db('runs').where({ export_id: id, state: 'done' }).first(), 20_000);
    // Both schedulers tick every second: give each a few more ticks to fire it a second time, if they would.
    await new Promise((r) => setTimeout(r, 3_000));
    const fires = await database.db('schedule_fires').where({ export_id: id });
    const runs = await database.db('runs').where({ export_id: id });
    expect(fires.map((f) => new Date(f.fire_time).toISOString())).to.deep.equal([fire.toISOString()]);
    expect(runs).to.have.length(1);
    expect(runs[0].trigger).to.equal('schedule');
    const ranBy = workers.filter(
      (w) => w.output().includes(`"run_id":${runs[0].id}`) && w.output().includes('run published'),
    );
    expect(ranBy).to.have.length(1);
  });
});
