import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import pg from 'pg';
import { loadConfig } from '../../server/config.js';
import { openDatabase } from '../../server/infra/db/database.js';
import { MARKER } from '../../server/infra/db/embedded-layout.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../server/infra/db/embedded.js';
import { createLogger } from '../../server/infra/logger.js';

const run = promisify(execFile);
const mode = (p: string) => statSync(p).mode & 0o777;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

const dataDirectory = async (db: EmbeddedDatabase) =>
  (await query<{ dir: string }>(db.url('postgres'), "select current_setting('data_directory') as dir"))[0]?.dir;

/** Where the marker of `dataDir` says its cluster lives (outside DATA_DIR when root). */
function externalOf(dataDir: string): string | null {
  try {
    const { pgdata } = JSON.parse(readFileSync(path.join(dataDir, MARKER), 'utf8')) as { pgdata?: string };
    return pgdata ? path.dirname(pgdata) : null;
  } catch {
    return null;
  }
}

describe('the embedded PostgreSQL belongs to its DATA_DIR (R-RUN-2)', function () {
  this.timeout(120_000);
  const servers: EmbeddedDatabase[] = [];
  const dataDirs: string[] = [];
  // Each top folder is 0700 like a `mktemp -d`: as root, `postgres` cannot enter it.
  const newDataDir = () => {
    const top = mkdtempSync(path.join(os.tmpdir(), 'em-embedded-'));
    dataDirs.push(top);
    return path.join(top, 'data');
  };
  const start = async (opts: Parameters<typeof startEmbeddedPostgres>[0]) => {
    const db = await startEmbeddedPostgres(opts);
    servers.push(db);
    return db;
  };

  after(async () => {
    for (const s of servers.reverse()) await s.stop();
    for (const top of dataDirs) {
      const external = externalOf(path.join(top, 'data'));
      if (external) await rm(external, { recursive: true, force: true });
      await rm(top, { recursive: true, force: true });
    }
  });

  let a: EmbeddedDatabase;
  let aDir: string;
  let b: EmbeddedDatabase;
  let bDir: string;

  it('starts with DATA_DIR inside a folder only its owner can enter, and leaves that folder closed', async () => {
    aDir = newDataDir();
    a = await start({ dataDir: aDir, port: await freePort() });
    expect(mode(path.dirname(aDir))).to.equal(0o700);
    expect(mode(aDir)).to.equal(0o700);
    expect(mode(path.join(aDir, MARKER))).to.equal(0o600);
    expect(await dataDirectory(a)).to.equal(a.pgdata);
    if (process.getuid?.() === 0) {
      // PostgreSQL runs as `postgres`, with its cluster outside the closed folder.
      expect(a.pgdata).to.match(/^\/var\/lib\/export-manager\/clusters\/[0-9a-f]{20}\/pgdata$/);
      expect(externalOf(aDir)).to.equal(path.dirname(a.pgdata));
      // The postmaster (its pid is the first line of postmaster.pid) runs as `postgres`.
      const pid = readFileSync(path.join(a.pgdata, 'postmaster.pid'), 'utf8').split('\n')[0];
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      expect(uid).to.equal((await run('id', ['-u', 'postgres'])).stdout.trim());
    } else {
      expect(a.pgdata).to.equal(path.join(aDir, 'pg'));
    }
  });

  it('a second DATA_DIR never attaches to the server answering on EMBEDDED_PG_PORT: it starts its own elsewhere', async () => {
    bDir = newDataDir();
    const warnings: string[] = [];
    b = await start({ dataDir: bDir, port: a.port, onWarn: (m) => warnings.push(m) });
    expect(b.owned).to.equal(true);
    expect(b.port).not.to.equal(a.port);
    expect(warnings.join('\n')).to.include(`EMBEDDED_PG_PORT ${a.port} is taken`).and.include(`uses port ${b.port}`);
    expect(await dataDirectory(b))
      .to.equal(b.pgdata)
      .and.not.equal(a.pgdata);
    // Each cluster has its own password: A's credentials do not open B.
    const crossed = new URL(a.url('postgres'));
    crossed.port = String(b.port);
    const err = await query(crossed.toString(), 'select 1').catch((e: { code?: string }) => e);
    expect((err as { code?: string }).code).to.equal('28P01');
  });

  it('another process of the same DATA_DIR shares its server wherever it runs, and leaves it running', async () => {
    const again = await start({ dataDir: bDir, port: await freePort() });
    expect(again.owned).to.equal(false);
    expect(again.port).to.equal(b.port);
    await again.stop();
    expect(await dataDirectory(b)).to.equal(b.pgdata);
  });

  it('as root, a copied DATA_DIR is refused rather than sharing the original cluster; a forged marker is refused', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const copy = newDataDir();
    mkdirSync(copy, { recursive: true, mode: 0o700 });
    copyFileSync(path.join(aDir, MARKER), path.join(copy, MARKER));
    const err = await startEmbeddedPostgres({ dataDir: copy, port: await freePort() }).catch((e: Error) => e);
    expect((err as Error).message).to.match(/looks like a copy of .*delete .*embedded-postgres\.json/);
    // A marker naming a folder that is not one of our clusters: nothing is chowned or emptied there.
    const victim = mkdtempSync(path.join(os.tmpdir(), 'em-victim-'));
    dataDirs.push(victim);
    writeFileSync(path.join(victim, 'keep'), 'x');
    writeFileSync(path.join(copy, MARKER), JSON.stringify({ pgdata: path.join(victim, 'pgdata'), password: 'p' }));
    const forged = await startEmbeddedPostgres({ dataDir: copy, port: await freePort() }).catch((e: Error) => e);
    expect((forged as Error).message).to.include('is not a cluster folder');
    expect(readFileSync(path.join(victim, 'keep'), 'utf8')).to.equal('x');
    rmSync(path.join(copy, MARKER));
  });

  it('`npm run user` with another DATA_DIR works on its own database, not on the server at EMBEDDED_PG_PORT', async () => {
    const log = createLogger('silent');
    const onA = await openDatabase(loadConfig({ DATA_DIR: aDir, EMBEDDED_PG_PORT: String(a.port) }), log, 2);
    try {
      const cDir = newDataDir();
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', 'server/cli/user.ts', 'add', 'zed', '--password', 'zed-secret'],
        {
          env: { ...process.env, DATA_DIR: cDir, EMBEDDED_PG_PORT: String(a.port), DATABASE_URL: '' },
        },
      );
      expect(stdout).to.include('user zed created');
      expect(await onA.db('users').where({ login: 'zed' }).first()).to.equal(undefined);
      // Its server was stopped when the command ended; A's keeps answering.
      expect(await dataDirectory(a)).to.equal(a.pgdata);
    } finally {
      await onA.close();
    }
  });
});
