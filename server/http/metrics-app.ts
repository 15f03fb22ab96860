import Koa from 'koa';
import type { Knex } from 'knex';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics/metrics.js';
import type { Storage } from '../infra/storage/storage.js';
import { errorMiddleware } from './middleware/errors.js';
import { requestContext } from './middleware/request-context.js';
import { healthRoutes } from './routes/health-routes.js';
import { metricsRoutes } from './routes/metrics-routes.js';

/**
 * What a ROLE=worker process serves on METRICS_PORT: /metrics (same METRICS_TOKEN rule as the API's), /healthz and
 * /readyz. Nothing else: a worker has no API.
 */
export function createMetricsApp(deps: {
  db: Knex;
  storage: Storage;
  log: Logger;
  metrics: Metrics;
  metricsToken: string;
  isShuttingDown: () => boolean;
}): Koa {
  const app = new Koa({ proxy: false });
  app.on('error', (err: Error) => deps.log.debug({ err }, 'metrics response failed'));
  app.use(requestContext(deps.log, deps.metrics));
  app.use(errorMiddleware);
  app.use(healthRoutes(deps).routes());
  app.use(metricsRoutes(deps.metrics, deps.metricsToken).routes());
  return app;
}
