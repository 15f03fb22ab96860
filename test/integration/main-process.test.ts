import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createTestDatabase } from '../helpers/cluster.js';

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
    execFileSync('npm', ['run', 'build', '--silent']);
  });

  it('R-RUN-1 R-RUN-3 starts, seeds the demo users, serves, prints URL and login, and stops on SIGTERM', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'em-main-'));
    const port = await freePort();
    const child = spawn(process.execPath, START, {
      env: { ...process.env, DATABASE_URL: database.url, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
    });
    const output = collect(child);
    try {
      const deadline = Date.now() + 30_000;
      while (!output().includes('listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(output()).to.include(`http://localhost:${port}`);
      expect(output()).to.match(/demo \/ demo/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).to.equal(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).to.equal(200);
      const session = (await (await fetch(`http://127.0.0.1:${port}/api/v1/session`)).json()) as { token: string };
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

  it('R-RUN-4 exits with a message naming a bad variable', async () => {
    const child = spawn(process.execPath, START, { env: { ...process.env, WORKER_CONCURRENCY: 'lots' } });
    const output = collect(child);
    expect(await exited(child)).to.equal(2);
    expect(output()).to.include('WORKER_CONCURRENCY');
  });
});
