import pg from 'pg';
import type { Config } from '../../config.js';
import type { Logger } from '../logger.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './embedded.js';
import { createKnex, type Knex } from './knex.js';
import { migrateLatest } from './migrate.js';

export interface Database {
  db: Knex;
  url: string;
  close(): Promise<void>;
}

const EMBEDDED_USER = 'export_manager';

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * R-RUN-2: DATABASE_URL when set; otherwise the embedded PostgreSQL under DATA_DIR. When another process
 * (a second instance, `npm run user`) already runs the embedded server on that port, it is shared, not restarted.
 * Migrations run before anything else touches the database.
 */
export async function openDatabase(config: Config, log: Logger, poolMax = 10): Promise<Database> {
  let embedded: EmbeddedDatabase | null = null;
  let url = config.DATABASE_URL;
  if (!url) {
    const sharedUrl = `postgres://${EMBEDDED_USER}:${EMBEDDED_USER}@127.0.0.1:${config.EMBEDDED_PG_PORT}/export_manager`;
    if (await answers(sharedUrl)) {
      url = sharedUrl;
    } else {
      log.info({ dir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT }, 'starting embedded PostgreSQL');
      embedded = await startEmbeddedPostgres({
        dataDir: config.DATA_DIR,
        port: config.EMBEDDED_PG_PORT,
        onLog: (line) => log.debug({ pg: line.trim() }, 'embedded postgres'),
      });
      url = embedded.url('export_manager');
    }
  }
  // Migrations may rewrite big tables: they run on a pool of their own, without the statement timeout.
  const migrator = createKnex(url, 2);
  try {
    await migrateLatest(migrator);
  } finally {
    await migrator.destroy();
  }
  const db = createKnex(url, poolMax, config.STATEMENT_TIMEOUT);
  return {
    db,
    url,
    async close() {
      await db.destroy();
      await embedded?.stop();
    },
  };
}
