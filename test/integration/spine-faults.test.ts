import { existsSync, mkdtempSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { pino } from 'pino';
import { composeServices, type Services } from '../../server/compose.js';
import { loadConfig } from '../../server/config.js';
import type { Producer } from '../../server/domain/runs/run-context.js';
import { createUser } from '../../server/domain/users/users-repo.js';
import { LocalStorage } from '../../server/infra/storage/local-storage.js';
import { createKnex } from '../../server/infra/db/knex.js';
import { migrateLatest } from '../../server/infra/db/migrate.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../server/infra/db/embedded.js';
import { type SftpTestServer, startSftpServer } from './transports/servers/sftp-server.js';
import { buildServerOnce } from '../helpers/server-build.js';
import { eventually } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/cluster.js';
import { rememberSecret } from '../helpers/log-capture.js';
import { freePort, type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const PASSWORD = 'spine-Sftp-Secret-42';

/** Local storage on a file system that fills up: once `spaceLeft` bytes are written, writes fail with ENOSPC. */
class FullDisk extends LocalStorage {
  spaceLeft = Number.POSITIVE_INFINITY;
  constructor(readonly folder: string) {
    super(folder);
  }
  override async write(key: string, body: Readable, signal?: AbortSignal): Promise<{ size: number }> {
    const disk = this;
    // Pulled by the storage's own write pipeline, so the error surfaces where a full file system's would.
    async function* limited() {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (chunk.length > disk.spaceLeft) {
          disk.spaceLeft = 0;
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
            code: 'ENOSPC',
            errno: -28,
            syscall: 'write',
          });
        }
        disk.spaceLeft -= chunk.length;
        yield chunk;
      }
    }
    return super.write(key, Readable.from(limited()), signal);
  }
}

/** Writes three parts of 100 KB: a run that needs some room. */
const chunks: Producer = {
  name: 'chunks',
  async produce(ctx) {
    for (const n of [1, 2, 3]) await ctx.staging.writeFile(`part-${n}.bin`, Buffer.alloc(100_000, n));
  },
};
rememberSecret(PASSWORD);

/**
 * Issue 10: the spine (runs and their deliveries, one queue) survives its processes. Compiled ROLE=worker processes
 * (as `npm start` runs them) share one real PostgreSQL and DATA_DIR; this test process only creates users and exports
 * and watches the rows. Faults come from outside: `kill -9`, SIGTERM, a PostgreSQL restart. A run is held "in the
 * middle" by an ACCESS EXCLUSIVE lock on `objects` that the test takes (the producer's query waits on it), a delivery
 * by the SFTP server holding its WRITE requests.
 */
describe('spine faults: killed, stopped and disconnected workers never lose or repeat a run or a delivery (issue 10)', function () {
  this.timeout(120_000);
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let services: Services;
  let dataDir: string;
  let sftpRoot: string;
  let sftp: SftpTestServer;
  let ownerId: number;
  const processes: ServerProcess[] = [];

  const workerEnv = (url: string) => ({
    DATABASE_URL: url,
    DATA_DIR: dataDir,
    ROLE: 'worker',
    LOG_LEVEL: 'info',
    RUN_LEASE: '2s',
    TRANSPORT_ALLOW_HOSTS: '127.0.0.1',
    WORKER_CONCURRENCY: '2',
  });
  const startWorker = async (url = database.url) => {
    const p = await startServerProcess(workerEnv(url), 'worker started');
    processes.push(p);
    return p;
  };
  const kill9 = async (p: ServerProcess) => {
    const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
    p.child.kill('SIGKILL');
    await exited;
  };
  const sftpTransport = (folder: string) => ({
    type: 'sftp',
    options: { host: '127.0.0.1', port: sftp.port, username: 'alice', password: PASSWORD, path: `/${folder}` },
  });
  const create = async (name: string, folder: string) =>
    (await services.exports.create(ownerId, { export: { name }, _transports: [sftpTransport(folder)] } as never)).id;
  const runOf = async (exportId: number) =>
    services.db('runs').where({ export_id: exportId }).orderBy('id', 'desc').first();
  const deliveryOf = async (exportId: number) =>
    services.db('transport_deliveries').where({ export_id: exportId }).first();
  /** Holds the `objects` table: a run claimed meanwhile waits inside its producer until `release`. */
  const holdObjects = async (url = database.url) => {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => {});
    await c.connect();
    await c.query('begin');
    await c.query('lock table objects in access exclusive mode');
    return async () => {
      await c.query('rollback').catch(() => {});
      await c.end().catch(() => {});
    };
  };
  /** A run waits on the lock: claimed, and its producer's statement is blocked. */
  const blockedOnObjects = async (db = services.db) => {
    const { rows } = await db.raw(
      "select count(*)::int as n from pg_locks where relation = 'objects'::regclass and not granted",
    );
    return rows[0].n > 0;
  };
  /** Renames of the run folder's files on the SFTP server, in order. */
  const renamesUnder = (folder: string) => sftp.events.filter((e) => e.startsWith(`rename:/${folder}/`));
  const expectDeliveredOnce = async (folder: string, name: string) => {
    const renames = renamesUnder(folder);
    expect(
      renames.filter((e) => e.endsWith('/manifest.json')),
      renames.join('\n'),
    ).to.have.length(1);
    expect(renames.at(-1)).to.match(/\/manifest\.json$/);
    const [runDir] = await readdir(path.join(sftpRoot, folder, name));
    expect((await readdir(path.join(sftpRoot, folder, name, runDir!))).sort()).to.include('manifest.json');
  };
  /** Every JSON log line of `p` about runs or deliveries names the export, the run and the attempt (issue 12). */
  const expectLabelledLines = (p: ServerProcess) => {
    const lines = p
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => /run|deliver|transport/.test(String(l.msg)) && !/database/.test(String(l.msg)));
    expect(lines.length).to.be.greaterThan(0);
    for (const l of lines) expect(l, String(l.msg)).to.include.keys('export_id', 'run_id', 'attempt');
  };

  before(async function () {
    this.timeout(240_000);
    buildServerOnce();
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'em-spine-'));
    sftpRoot = mkdtempSync(path.join(os.tmpdir(), 'em-spine-sftp-'));
    sftp = await startSftpServer({ root: sftpRoot, username: 'alice', password: PASSWORD });
    const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: database.url, TRANSPORT_ALLOW_HOSTS: '127.0.0.1' });
    services = composeServices(config, database.db, pino({ level: 'silent' }));
    // A user before any worker starts: the workers' demo seed only fills an empty database.
    ownerId = (await createUser(database.db, { login: 'spine', password: 'spine-password' })).id;
  });
  afterEach(async () => {
    sftp.release();
    for (const p of processes.splice(0)) if (p.alive()) await kill9(p);
  });
  after(async () => {
    await sftp?.close();
    await database?.drop();
    for (const d of [dataDir, sftpRoot]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('kill -9 in the middle of a run: another worker takes it over, publishes once, delivers manifest.json once and last', async () => {
    const release = await holdObjects();
    const a = await startWorker();
    const id = await create('Killed mid-run', 'k1');
    try {
      await eventually(async () => (await runOf(id))?.state === 'processing' && blockedOnObjects(), 20_000);
    } catch (e) {
      await release();
      throw e;
    }
    // Started while A holds the run: B cannot claim it; it takes it over once A's lease expired.
    const b = await startWorker();
    await kill9(a);
    await release();
    const done = await eventually(async () => {
      const d = await deliveryOf(id);
      return d?.state === 'done' ? d : null;
    }, 40_000);
    const run = await runOf(id);
    expect(run.state).to.equal('done');
    expect(run.attempts).to.equal(2);
    expect(done.attempts).to.equal(1);
    const finishes = await services.db('export_events').where({ export_id: id, type: 'EXPORT_FINISH' });
    expect(finishes).to.have.length(1);
    await expectDeliveredOnce('k1', 'Killed mid-run');
    expectLabelledLines(b);
  });

  it('kill -9 in the middle of an SFTP delivery: the lease sweeper hands it to another worker, which ends it done', async () => {
    sftp.hold();
    const a = await startWorker();
    const id = await create('Killed mid-delivery', 'k2');
    await eventually(async () => (await deliveryOf(id))?.state === 'processing' && sftp.heldWrites > 0, 30_000);
    await startWorker();
    await kill9(a);
    sftp.release();
    const done = await eventually(async () => {
      const d = await deliveryOf(id);
      return d?.state === 'done' ? d : null;
    }, 40_000);
    expect(done.attempts).to.equal(2);
    expect((await runOf(id)).attempts).to.equal(1);
    await expectDeliveredOnce('k2', 'Killed mid-delivery');
  });

  it('a crash right after the publish commit: the run already has its delivery jobs, and another worker runs them', async () => {
    sftp.hold();
    const a = await startWorker();
    const id = await create('Crash after publish', 'k3');
    // Watched from outside in single statements: the moment the run reads done, its delivery row exists.
    const seen = await eventually(
      async () => {
        const { rows } = await services.db.raw(
          `select r.state, (select count(*)::int from transport_deliveries d where d.run_id = r.id) as deliveries
           from runs r where r.export_id = ?`,
          [id],
        );
        return rows[0]?.state === 'done' ? rows[0] : null;
      },
      30_000,
      5,
    );
    await kill9(a);
    expect(seen.deliveries).to.equal(1);
    sftp.release();
    await startWorker();
    await eventually(async () => (await deliveryOf(id))?.state === 'done', 40_000);
    await expectDeliveredOnce('k3', 'Crash after publish');
  });

  it('SIGTERM during a delivery hands it back (not failed, attempt not counted); the next worker finishes it', async () => {
    sftp.hold();
    const a = await startWorker();
    const id = await create('Stopped mid-delivery', 'k4');
    await eventually(async () => (await deliveryOf(id))?.state === 'processing' && sftp.heldWrites > 0, 30_000);
    const exited = new Promise<number | null>((r) => a.child.once('exit', (code) => r(code)));
    a.child.kill('SIGTERM');
    expect(await exited).to.equal(0);
    const handedBack = await deliveryOf(id);
    expect(handedBack).to.include({ state: 'pending', locked_by: null, attempts: 0, failure_reason: null });
    expect(handedBack.log.map((l: { message: string }) => l.message)).to.include(
      'handed back: the worker running it shut down',
    );
    sftp.release();
    await startWorker();
    const done = await eventually(async () => {
      const d = await deliveryOf(id);
      return d?.state === 'done' ? d : null;
    }, 30_000);
    expect(done.attempts).to.equal(1);
    await expectDeliveredOnce('k4', 'Stopped mid-delivery');
  });

  it('PostgreSQL restarted during a run: the run is retried and published once', async function () {
    this.timeout(180_000);
    // A cluster of this test's own: restarting the shared one would break every other test's database.
    const pgDir = mkdtempSync(path.join(os.tmpdir(), 'em-spine-pg-'));
    let cluster: EmbeddedDatabase | null = await startEmbeddedPostgres({ dataDir: pgDir, port: await freePort() });
    const port = Number(new URL(cluster.url('postgres')).port);
    const url = cluster.url('export_manager');
    const db = createKnex(url, 4);
    try {
      await migrateLatest(db);
      const owner = (await createUser(db, { login: 'restart', password: 'restart-password' })).id;
      const own = composeServices(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: url }), db, pino({ level: 'silent' }));
      const release = await holdObjects(url);
      const w = await startWorker(url);
      const id = (await own.exports.create(owner, { export: { name: 'Restarted' } } as never)).id;
      const runOn = async () => db('runs').where({ export_id: id }).first();
      await eventually(async () => (await runOn())?.state === 'processing' && blockedOnObjects(db), 20_000);
      // A fast shutdown ends every session (the lock too) with 57P01; the worker's blocked statement fails with it.
      await cluster.stop();
      await release();
      cluster = await startEmbeddedPostgres({ dataDir: pgDir, port });
      const done = await eventually(
        async () => {
          const r = await runOn().catch(() => null);
          return r?.state === 'done' ? r : null;
        },
        60_000,
        200,
      );
      expect(done.attempts).to.equal(2);
      expect(await db('export_events').where({ export_id: id, type: 'EXPORT_FINISH' })).to.have.length(1);
      expect(await db('runs').where({ export_id: id })).to.have.length(1);
      expect(w.alive()).to.equal(true);
      expect(w.output()).to.include('run interrupted: the database is unreachable');
    } finally {
      for (const p of processes.splice(0)) if (p.alive()) await kill9(p);
      await db.destroy();
      await cluster?.stop();
      if (cluster?.external) await rm(cluster.external, { recursive: true, force: true });
      await rm(pgDir, { recursive: true, force: true });
    }
  });

  it('no staging left behind by the faults above', async () => {
    for (const { id } of await services.db('exports').select('id')) {
      const runs = await services.db('runs').where({ export_id: id });
      const root = path.join(dataDir, 'storage', 'exports', String(id), 'runs');
      const folders = existsSync(root) ? await readdir(root) : [];
      // Only published runs keep a folder, and within it only the attempt that was published.
      expect(folders.sort()).to.deep.equal(
        runs
          .filter((r) => r.state === 'done')
          .map((r) => String(r.id))
          .sort(),
      );
      for (const r of runs.filter((x) => x.state === 'done')) {
        expect(await readdir(path.join(root, String(r.id)))).to.deep.equal([String(r.attempts)]);
      }
    }
  });

  it('the disk fills up during production: the run fails with a sentence, the previous files stay, no staging is left', async () => {
    const full = new FullDisk(path.join(dataDir, 'full-storage'));
    const own = composeServices(
      loadConfig({ DATA_DIR: dataDir, DATABASE_URL: database.url }),
      database.db,
      pino({ level: 'silent' }),
      { storage: full, producers: [chunks] },
    );
    const worker = own.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 60_000 });
    worker.start();
    try {
      const id = (await own.exports.create(ownerId, { export: { name: 'Disk full' } } as never)).id;
      const view = async () => own.exports.get(ownerId, id);
      const first = await eventually(async () => {
        const e = await view();
        return e?.state === 'done' ? e : null;
      });
      const published = await services.db('runs').where({ id: first.published_run_id }).first();
      const before = await readdir(path.join(full.folder, published.files_prefix));
      expect(before.sort()).to.deep.equal(['manifest.json', 'part-1.bin', 'part-2.bin', 'part-3.bin']);
      // Room for one and a half parts: the second part's write fails with ENOSPC, as a full file system does.
      full.spaceLeft = 150_000;
      await own.exports.start(ownerId, id);
      const failed = await eventually(async () => {
        const e = await view();
        return e?.state === 'failed' ? e : null;
      });
      expect(failed.failure_reason).to.equal(
        "The export could not be written because the server's storage is full; the previous files are kept. Ask the administrator to free space, then start the export again.",
      );
      const again = await services.db('exports').where({ id }).first();
      expect(again.published_run_id).to.equal(first.published_run_id);
      expect((await readdir(path.join(full.folder, published.files_prefix))).sort()).to.deep.equal(before.sort());
      const runs = path.join(full.folder, 'exports', String(id), 'runs');
      expect(await readdir(runs)).to.deep.equal([String(published.id)]);
    } finally {
      await worker.stop();
    }
  });
});
