import type { Server } from 'node:http';
import { seedDemo } from '../seeds/demo.js';
import { ConfigError, loadConfig } from './config.js';
import { composeServices } from './compose.js';
import { openDatabase } from './infra/db/database.js';
import { createMetricsApp } from './http/metrics-app.js';
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
  await services.storage.prepare?.();
  const seeded = await seedDemo(database.db, config, services.exports, services.storage);

  let shuttingDown = false;
  const listen = async (app: Parameters<typeof createHttpServer>[0], port: number, name: string) => {
    const s = createHttpServer(app, config);
    s.listen(port, config.HOST);
    await new Promise<void>((resolve, reject) => {
      s.once('listening', resolve);
      s.once('error', reject);
    }).catch(async (e: NodeJS.ErrnoException) => {
      await database.close().catch(() => {});
      console.error(listenFailure(e, config.HOST, port, name));
      // A HOST that names no local address is a configuration error like any other (exit 2); a busy port is not.
      process.exit(e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 2 : 1);
    });
    return s;
  };
  let server: Server | null = null;
  if (config.ROLE !== 'worker') {
    server = await listen(services.app, config.PORT, 'PORT');
    console.log(`Export Manager listening on ${config.PUBLIC_URL} (role ${config.ROLE})`);
    if (seeded || !config.production) {
      console.log(`Demo login: demo / ${config.DEMO_PASSWORD === 'demo' ? 'demo' : '(DEMO_PASSWORD)'}, other / other`);
    }
  } else if (config.METRICS_PORT > 0) {
    // A worker has no API port; Prometheus scrapes it (and probes /healthz) here.
    const metricsApp = createMetricsApp({
      db: database.db,
      storage: services.storage,
      log,
      metrics: services.metrics,
      metricsToken: config.METRICS_TOKEN,
      isShuttingDown: () => shuttingDown,
    });
    server = await listen(metricsApp, config.METRICS_PORT, 'METRICS_PORT');
    console.log(`Export Manager worker started (metrics on ${config.HOST}:${config.METRICS_PORT}/metrics)`);
  } else {
    console.log('Export Manager worker started');
  }

  // Started only once the port is ours: a server that cannot listen exits without having claimed runs.
  const worker = config.ROLE !== 'api' && config.WORKER_CONCURRENCY > 0 ? services.createWorker() : null;
  worker?.start();
  // Every worker/all instance ticks schedules; the fire record in the database makes each fire enqueue once (R-SCHED-3).
  const scheduler = config.ROLE !== 'api' ? services.scheduler : null;
  scheduler?.start();

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    shuttingDown = true;
    log.info({ signal, drain_ms: config.SHUTDOWN_DRAIN }, 'shutting down');
    services.app.emit('shutdown');
    // /readyz answers 503 from now on; the port stays open for SHUTDOWN_DRAIN so a load balancer sees the 503 and
    // sends no new requests before the listener closes.
    if (config.SHUTDOWN_DRAIN > 0) await new Promise((r) => setTimeout(r, config.SHUTDOWN_DRAIN));
    const closed = server ? new Promise<void>((r) => server!.close(() => r())) : Promise.resolve();
    server?.closeIdleConnections();
    await scheduler?.stop();
    await worker?.stop();
    await services.signals.close();
    await closed;
    await services.storage.close?.().catch(() => {});
    await database.close();
    process.exit(0);
  };
  // Our shutdown hands runs back and closes the pool first, and stops the embedded PostgreSQL itself, last.
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // A closed terminal ends the server the same way, so its embedded PostgreSQL is not left behind.
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
}

function listenFailure(e: NodeJS.ErrnoException, host: string, port: number, name: string): string {
  switch (e.code) {
    case 'EADDRINUSE':
      return `${name}=${port}: another process already listens on ${host}:${port}; stop it or choose another ${name}.`;
    case 'EACCES':
      return `${name}=${port}: this user may not listen on port ${port}; choose a ${name} from 1024 up.`;
    case 'EADDRNOTAVAIL':
      return `HOST=${JSON.stringify(host)}: is not an address of this machine; use 0.0.0.0, :: or one of its addresses.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `HOST=${JSON.stringify(host)}: the host name does not resolve to an address of this machine.`;
    default:
      return `Export Manager could not listen on ${host}:${port}: ${e.message}`;
  }
}

main().catch((e) => {
  console.error('Export Manager failed to start:', e instanceof Error ? e.message : e);
  if (e instanceof Error && e.cause) console.error('  cause:', (e.cause as Error).message ?? e.cause);
  process.exit(1);
});
