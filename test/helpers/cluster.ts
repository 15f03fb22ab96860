import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { nanoid } from 'nanoid';
import pg from 'pg';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../server/infra/db/embedded.js';
import { createKnex, type Knex } from '../../server/infra/db/knex.js';
import { migrateLatest } from '../../server/infra/db/migrate.js';

/**
 * The PostgreSQL the tests use (real PostgreSQL, never a mock): DATABASE_URL when set, else one embedded server per mocha
 * run. Migrations run once into a template database; each test file gets `CREATE DATABASE … TEMPLATE` (fast).
 */
interface Cluster {
  adminUrl: string;
  urlFor(db: string): string;
  template: string;
  created: Set<string>;
  embedded: EmbeddedDatabase | null;
  dataDir: string | null;
}

let cluster: Promise<Cluster> | null = null;
const RUN = `t${Date.now().toString(36)}${nanoid(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function boot(): Promise<Cluster> {
  let embedded: EmbeddedDatabase | null = null;
  let dataDir: string | null = null;
  let base = process.env.DATABASE_URL;
  if (!base) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'em-test-pg-'));
    embedded = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    base = embedded.url('postgres');
  }
  const template = `${RUN}_template`;
  const c: Cluster = {
    adminUrl: base,
    urlFor: (db) => withDatabase(base, db),
    template,
    created: new Set([template]),
    embedded,
    dataDir,
  };
  await admin(base, (client) => client.query(`create database "${template}"`));
  const db = createKnex(c.urlFor(template), 3);
  await migrateLatest(db);
  await db.destroy();
  return c;
}

export const getCluster = () => {
  cluster ??= boot();
  return cluster;
};

/** A fresh, migrated database for one test file; `statementTimeoutMs` as openDatabase gives STATEMENT_TIMEOUT. */
export async function createTestDatabase(
  opts: { statementTimeoutMs?: number } = {},
): Promise<{ db: Knex; url: string; drop(): Promise<void> }> {
  const c = await getCluster();
  const name = `${RUN}_${nanoid(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  await admin(c.adminUrl, (client) => client.query(`create database "${name}" template "${c.template}"`));
  c.created.add(name);
  const url = c.urlFor(name);
  const db = createKnex(url, 10, { statementTimeoutMs: opts.statementTimeoutMs });
  return {
    db,
    url,
    async drop() {
      await db.destroy();
      await admin(c.adminUrl, (client) => client.query(`drop database if exists "${name}" with (force)`));
      c.created.delete(name);
    },
  };
}

/** An empty database (no migrations) for the migration tests. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const c = await getCluster();
  const name = `${RUN}_empty_${nanoid(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  await admin(c.adminUrl, (client) => client.query(`create database "${name}"`));
  c.created.add(name);
  return {
    url: c.urlFor(name),
    drop: () => admin(c.adminUrl, (client) => client.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}

export async function shutdownCluster(): Promise<void> {
  if (!cluster) return;
  const c = await cluster;
  for (const name of c.created) {
    await admin(c.adminUrl, (client) => client.query(`drop database if exists "${name}" with (force)`)).catch(() => {});
  }
  await c.embedded?.stop();
  if (c.dataDir) await rm(c.dataDir, { recursive: true, force: true });
  // As root the cluster lives outside DATA_DIR (SYSTEM_DIR/clusters/<hash>); a test cluster is thrown away.
  if (c.embedded?.external) await rm(c.embedded.external, { recursive: true, force: true });
  cluster = null;
}
