import type Router from '@koa/router';
import Koa from 'koa';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { TransportsView } from '../domain/exports/export-presenter.js';
import type { ExportService } from '../domain/exports/export-service.js';
import type { SessionService } from '../domain/sessions/sessions.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics/metrics.js';
import type { Storage } from '../infra/storage/storage.js';
import { requireUser } from './middleware/auth.js';
import { errorMiddleware } from './middleware/errors.js';
import { mountExportRouter } from './mount.js';
import { queryText } from './middleware/query-text.js';
import { requestContext } from './middleware/request-context.js';
import { exportRoutes } from './routes/export-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { metricsRoutes } from './routes/metrics-routes.js';
import { sessionRoutes } from './routes/session-routes.js';

export interface AppDeps {
  config: Config;
  db: Knex;
  log: Logger;
  sessions: SessionService;
  exports: ExportService;
  transportsView: TransportsView;
  isShuttingDown: () => boolean;
  metrics: Metrics;
  storage: Storage;
  /** Extra routers mounted by later modules at their own paths (objects, assets, search, pages). */
  extraRouters?: Router[];
  /** Routers below `<prefix>/…` of both export prefixes (files, archives, passkey downloads); see mountExportRouter. */
  exportRouters?: Router[];
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: false });
  // Body streams that fail after the headers went out (client gone, a source failing mid-way) are reported here;
  // log them instead of Koa's default console.error. A client going away is normal for downloads.
  app.on('error', (err: NodeJS.ErrnoException, ctx?: Koa.Context) => {
    // HPE_INVALID_EOF_STATE: the client half-closed its side in the middle of its request body.
    const gone = ['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE', 'ABORT_ERR', 'HPE_INVALID_EOF_STATE'].includes(err.code ?? '');
    const log = (ctx?.state.log as Logger | undefined) ?? deps.log;
    if (gone) log.debug({ err }, 'response stream ended early');
    else log.warn({ err }, 'response stream failed');
  });
  app.use(requestContext(deps.log, deps.metrics));
  app.use(errorMiddleware);
  app.use(queryText);

  const health = healthRoutes({ db: deps.db, storage: deps.storage, log: deps.log, isShuttingDown: deps.isShuttingDown });
  app.use(health.routes());
  app.use(metricsRoutes(deps.metrics, deps.config.METRICS_TOKEN).routes());
  const session = sessionRoutes(deps.sessions, deps.config.BODY_LIMIT);
  app.use(session.routes()).use(session.allowedMethods());

  const exportsRouter = exportRoutes({
    exports: deps.exports,
    bodyLimit: deps.config.BODY_LIMIT,
    transportsView: deps.transportsView,
  });
  mountExportRouter(app, exportsRouter, requireUser(deps.sessions));
  for (const r of deps.exportRouters ?? []) mountExportRouter(app, r);
  for (const r of deps.extraRouters ?? []) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
