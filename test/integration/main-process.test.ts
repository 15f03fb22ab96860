import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { buildServerOnce } from '../helpers/server-build.js';
import { createTestDatabase } from '../helpers/cluster.js';
import { captureChildLogs, rememberSecret } from '../helpers/log-capture.js';

// As `npm start` runs it: the compiled build, no wrapper process between the signal and the server.
const START = ['dist/server/main.js'];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function collect(child: ChildProcess) {
  // The root hook greps these logs for the secrets the tests used.
  captureChildLogs(child, START.join(' '));
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  return () => out;
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

describe('the server process (R-RUN-1, R-RUN-4, R-RUN-5)', function () {
  this.timeout(60_000);
  before(() => {
    buildServerOnce();
  });

  it('R-RUN-1 R-RUN-3 starts, seeds the demo users, serves, prints URL and login, and stops on SIGTERM', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'em-main-'));
    const port = await freePort();
    const child = spawn(process.execPath, START, {
      // info: the access lines (the login below sends its token and password in the query) reach the leak check.
      env: { ...process.env, DATABASE_URL: database.url, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' },
    });
    const output = collect(child);
    try {
      const deadline = Date.now() + 30_000;
      // The two start-up lines are two writes: they may arrive in two chunks, so wait for the second.
      while (!output().includes('Demo login') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(output()).to.include(`http://localhost:${port}`);
      expect(output()).to.match(/demo \/ demo/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).to.equal(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).to.equal(200);
      const session = (await (await fetch(`http://127.0.0.1:${port}/api/v1/session`)).json()) as { token: string };
      rememberSecret(session.token);
      const auth = await fetch(
        `http://127.0.0.1:${port}/api/v1/session/authenticate?token=${session.token}&login=demo&password=demo`,
        { method: 'POST' },
      );
      expect(auth.status).to.equal(200);
      const code = exited(child);
      child.kill('SIGTERM');
      expect(await code).to.equal(0);
    } finally {
      child.kill('SIGKILL');
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('R-RUN-2 on its embedded PostgreSQL from a folder only its owner can enter: serves, and stops PostgreSQL on SIGTERM', async () => {
    // A `mktemp -d` folder is 0700: as root, the `postgres` user cannot enter it.
    const top = mkdtempSync(path.join(os.tmpdir(), 'em-main-embedded-'));
    const dataDir = path.join(top, 'data');
    const [port, pgPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, START, {
      env: {
        ...process.env,
        DATABASE_URL: '',
        DATA_DIR: dataDir,
        PORT: String(port),
        EMBEDDED_PG_PORT: String(pgPort),
        LOG_LEVEL: 'info',
      },
    });
    const output = collect(child);
    let external: string | null = null;
    try {
      const deadline = Date.now() + 45_000;
      while (!output().includes('listening on') && child.exitCode === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(output()).to.include('embedded PostgreSQL started').and.include('listening on');
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).to.equal(200);
      external =
        (JSON.parse(readFileSync(path.join(dataDir, 'embedded-postgres.json'), 'utf8')) as { pgdata?: string })
          .pgdata ?? null;
      // The seeded export runs at start; this test is about PostgreSQL's lifetime, so it stops an idle server.
      while (!output().includes('run published') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const code = exited(child);
      child.kill('SIGTERM');
      expect(await code, output()).to.equal(0);
      // PostgreSQL went with it: nothing listens on its port any more.
      const refused = await new Promise<boolean>((resolve) => {
        const s = net.connect(pgPort, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => resolve(true));
      });
      expect(refused, 'the embedded PostgreSQL still runs').to.equal(true);
    } finally {
      child.kill('SIGKILL');
      if (external && !external.startsWith(dataDir)) await rm(path.dirname(external), { recursive: true, force: true });
      await rm(top, { recursive: true, force: true });
    }
  });

  it('R-RUN-4 exits with a message naming a bad variable', async () => {
    const child = spawn(process.execPath, START, { env: { ...process.env, WORKER_CONCURRENCY: 'lots' } });
    const output = collect(child);
    expect(await exited(child)).to.equal(2);
    expect(output()).to.include('WORKER_CONCURRENCY');
  });

  it('R-RUN-4 exits with code 2 and one line for TZ, TRANSPORT_DIRECTORY_ROOTS, SECRET_KEY, HOST and ranges', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ TZ: 'Mars/Olympus' }, 'TZ="Mars/Olympus": must be empty (UTC) or an IANA time zone'],
      [{ TRANSPORT_DIRECTORY_ROOTS: 'out' }, 'TRANSPORT_DIRECTORY_ROOTS="out": must list existing absolute folders'],
      [{ SECRET_KEY: 'short' }, 'SECRET_KEY: must be 64 hex characters'],
      [{ HOST: 'not a host' }, 'HOST="not a host": must be an IP address or a host name'],
      [{ WORKER_CONCURRENCY: '-1' }, 'WORKER_CONCURRENCY="-1": must be a whole number from 0 to 64'],
    ];
    await Promise.all(
      cases.map(async ([env, message]) => {
        const child = spawn(process.execPath, START, { env: { ...process.env, ...env } });
        const output = collect(child);
        expect(await exited(child), message).to.equal(2);
        expect(output()).to.include(message);
        expect(output(), 'no stack trace').not.to.match(/\n\s+at /);
      }),
    );
  });

  it('R-RUN-4 a HOST that is no address of this machine exits with code 2 and one sentence, not a stack trace', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'em-main-'));
    try {
      // 192.0.2.1 is TEST-NET-1: a valid address that no machine of ours has (listen fails with EADDRNOTAVAIL).
      const child = spawn(process.execPath, START, {
        env: {
          ...process.env,
          DATABASE_URL: database.url,
          DATA_DIR: dataDir,
          HOST: '192.0.2.1',
          PORT: String(await freePort()),
          LOG_LEVEL: 'warn',
        },
      });
      const output = collect(child);
      expect(await exited(child)).to.equal(2);
      expect(output()).to.include('HOST="192.0.2.1": is not an address of this machine');
      expect(output()).not.to.match(/\n\s+at /);
    } finally {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
