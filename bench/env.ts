import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../server/config.js';
import { composeServices, type Services } from '../server/compose.js';
import { openDatabase } from '../server/infra/db/database.js';
import { createLogger } from '../server/infra/logger.js';
import { startEmbeddedPostgres } from '../server/infra/db/embedded.js';

/**
 * A server for a bench section: DATABASE_URL when set, else a throw-away embedded PostgreSQL in a temp folder
 * (port 54399), with the app listening on a random loopback port.
 */
export async function startBenchServer(env: Record<string, string> = {}): Promise<{
  services: Services;
  url: string;
  dbUrl: string;
  close(): Promise<void>;
}> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'em-bench-'));
  const embedded = process.env.DATABASE_URL ? null : await startEmbeddedPostgres({ dataDir, port: 54399 });
  const config = loadConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: process.env.DATABASE_URL ?? embedded!.url('export_manager'),
    LOG_LEVEL: 'silent',
    WORKER_CONCURRENCY: '0',
    // The bench loads data in single huge statements; the servers under test (child processes) keep the default.
    STATEMENT_TIMEOUT: '24h',
    ...env,
  });
  const database = await openDatabase(config, createLogger('silent'), 20);
  const services = composeServices(config, database.db, createLogger('silent'));
  const server = services.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    services,
    url: `http://127.0.0.1:${port}`,
    dbUrl: database.url,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await database.close();
      await embedded?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
