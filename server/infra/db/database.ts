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

/**
 * R-RUN-2: DATABASE_URL when set; otherwise the embedded PostgreSQL of DATA_DIR, started here or, when another
 * process of the same DATA_DIR runs it already, shared (never the server of another DATA_DIR; see embedded.ts).
 * Migrations run before anything else touches the database.
 */
export async function openDatabase(config: Config, log: Logger, poolMax = 10): Promise<Database> {
  let embedded: EmbeddedDatabase | null = null;
  let url = config.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.DATA_DIR,
      port: config.EMBEDDED_PG_PORT,
      onLog: (line) => log.debug({ pg: line.trim() }, 'embedded postgres'),
      onWarn: (message) => log.warn(message),
    });
    log.info(
      { dir: embedded.pgdata, port: embedded.port },
      embedded.owned
        ? 'embedded PostgreSQL started'
        : 'embedded PostgreSQL of this DATA_DIR already running; sharing it',
    );
    url = embedded.url('export_manager');
  }
  // Migrations may rewrite big tables: they run on a pool of their own, without the statement timeout.
  const migrator = createKnex(url, 2, { log });
  try {
    await migrateLatest(migrator);
  } finally {
    await migrator.destroy();
  }
  const db = createKnex(url, poolMax, { log, statementTimeoutMs: config.STATEMENT_TIMEOUT });
  return {
    db,
    url,
    async close() {
      await db.destroy();
      await embedded?.stop();
    },
  };
}
