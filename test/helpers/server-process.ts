import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import net from 'node:net';
import { captureChildLogs } from './log-capture.js';

/**
 * The compiled server (`dist/server/main.js`, as `npm start` runs it) in its own process, so a crash, its open file
 * descriptors and its RSS are its own and observable from the test.
 */
export interface ServerProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  alive(): boolean;
  /** Open descriptors: all of them, and those naming files under `under` (the data folder). */
  fds(under: string): Promise<{ total: number; files: number }>;
  /** Resident set size in bytes (VmRSS). */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** `ready`: the line that says the process is up ('listening on' for the API; 'worker started' for ROLE=worker). */
export async function startServerProcess(env: Record<string, string>, ready = 'listening on'): Promise<ServerProcess> {
  const port = await freePort();
  // A ROLE=worker process serves its metrics on METRICS_PORT (9464 by default): a free one, so runs never collide.
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/server/main.js'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(metricsPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The root hook greps these logs for the secrets the tests used, as it does the in-process apps' logs.
  captureChildLogs(child, `${env.ROLE ?? 'all'} on port ${port}`);
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const pid = child.pid as number;
  const alive = () => child.exitCode === null && child.signalCode === null;
  const deadline = Date.now() + 60_000;
  while (!out.includes(ready)) {
    if (!alive()) throw new Error(`the server exited while starting (${child.exitCode ?? child.signalCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`the server did not start within 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    child,
    output: () => out,
    alive,
    async fds(under) {
      const names = await readdir(`/proc/${pid}/fd`);
      let files = 0;
      for (const n of names) {
        const target = await readlink(`/proc/${pid}/fd/${n}`).catch(() => '');
        if (target.startsWith(under)) files++;
      }
      return { total: names.length, files };
    },
    async rss() {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    },
    async stop() {
      if (!alive()) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
