import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A server under test in its own process, so its RSS is its own (the bench process holds hundreds of MB of test
 * data). Run as `node dist/bench/child-server.js app` or `node --import tsx bench/child-server.ts archiver <manifest>`:
 * - `app`: the Export Manager app (DATABASE_URL, DATA_DIR from the environment), as `npm start` serves it;
 * - `archiver`: the reference — archiver (store, zip64) streaming a folder through a bare Koa app; `manifest` is a
 *   JSON file `{ "<id>": { dir, files: [path…] } }` and `GET /<id>` zips that folder.
 * The child reports `{ port }` over IPC once listening.
 */
async function childMain(mode: string, manifest?: string): Promise<void> {
  const { default: Koa } = await import('koa');
  let server: import('node:http').Server;
  if (mode === 'app') {
    const { loadConfig } = await import('../server/config.js');
    const { composeServices } = await import('../server/compose.js');
    const { openDatabase } = await import('../server/infra/db/database.js');
    const { createLogger } = await import('../server/infra/logger.js');
    // No worker unless the bench asks for one (WORKER_CONCURRENCY in env): then this process also executes runs.
    const config = loadConfig({ WORKER_CONCURRENCY: '0', ...process.env, LOG_LEVEL: 'silent' });
    const database = await openDatabase(config, createLogger('silent'), 20);
    const services = composeServices(config, database.db, createLogger('silent'));
    if (config.WORKER_CONCURRENCY > 0) services.createWorker({ pollMs: 100 }).start();
    server = services.app.listen(0, '127.0.0.1');
  } else if (mode === 'archiver') {
    const { ZipArchive } = await import('archiver');
    const folders = JSON.parse(readFileSync(manifest as string, 'utf8')) as Record<string, { dir: string; files: string[] }>;
    const app = new Koa();
    app.use(async (ctx) => {
      const e = folders[ctx.path.slice(1)];
      if (!e) return;
      const archive = new ZipArchive({ store: true, forceZip64: true });
      for (const f of e.files) archive.file(path.join(e.dir, f), { name: f });
      void archive.finalize();
      ctx.type = 'application/zip';
      ctx.body = archive;
    });
    server = app.listen(0, '127.0.0.1');
  } else throw new Error(`unknown mode ${mode}`);
  await new Promise<void>((r) => server.once('listening', () => r()));
  process.send?.({ port: (server.address() as { port: number }).port });
  process.on('disconnect', () => process.exit(0));
}

export interface ChildServer {
  url: string;
  pid: number;
  /** Current RSS in bytes (VmRSS). */
  rss(): Promise<number>;
  /** Peak RSS (bytes) while `fn` runs: VmHWM after resetting it (clear_refs 5), and VmRSS sampled every 50 ms. */
  peakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peak: number }>;
  close(): Promise<void>;
}

const statusKb = async (pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};

const SELF = fileURLToPath(import.meta.url);

/** Starts `bench/child-server.ts <mode>` with `env` added; `BENCH_CPU_PROF=<dir>` runs it under --cpu-prof. */
export async function startChildServer(mode: 'app' | 'archiver', env: Record<string, string>, manifest?: Record<string, unknown>): Promise<ChildServer> {
  const args: string[] = [mode];
  if (manifest) {
    const file = path.join(env.DATA_DIR ?? process.cwd(), `bench-${mode}-manifest.json`);
    await writeFile(file, JSON.stringify(manifest));
    args.push(file);
  }
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  // The app runs as `npm start` runs it: compiled JavaScript from dist/ (bench/run.ts builds first), so its RSS is
  // not inflated by the TypeScript loader. The archiver reference needs no build.
  const compiled = path.resolve('dist/bench/child-server.js');
  const child: ChildProcess = fork(mode === 'app' ? compiled : SELF, args, {
    execArgv: mode === 'app' ? prof : ['--import', 'tsx', ...prof],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench ${mode} server exited with ${code}`)));
  });
  const pid = child.pid as number;
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    rss: () => statusKb(pid, 'VmRSS'),
    async peakRss(fn) {
      const hwmReset = await writeFile(`/proc/${pid}/clear_refs`, '5').then(
        () => true,
        () => false,
      );
      let peak = await statusKb(pid, 'VmRSS');
      let sampling = Promise.resolve();
      const timer = setInterval(() => {
        sampling = sampling.then(async () => {
          peak = Math.max(peak, await statusKb(pid, 'VmRSS').catch(() => 0));
        });
      }, 50);
      try {
        const result = await fn();
        clearInterval(timer);
        await sampling;
        peak = Math.max(peak, await statusKb(pid, 'VmRSS'));
        if (hwmReset) peak = Math.max(peak, await statusKb(pid, 'VmHWM'));
        return { result, peak };
      } finally {
        clearInterval(timer);
      }
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.disconnect(); // the child exits on disconnect (and writes its --cpu-prof profile)
      await exited;
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  childMain(process.argv[2], process.argv[3]).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
