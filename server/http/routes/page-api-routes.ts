import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { StatusWatch } from '../../domain/exports/status-watch.js';
import type { PreviewSettings } from '../../domain/schedules/preview.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { folderRoutes } from './folder-routes.js';
import { runRoutes } from './run-routes.js';
import { scheduleRoutes } from './schedule-routes.js';
import { statusRoutes } from './status-routes.js';

const PREFIXES = ['/api/v1', '/api/v1/v1'];

/**
 * What the web export manager needs beyond the seed's API (issue 13): the run history, a paged folder listing, the
 * status with a long-poll, and a schedule preview; each under both prefixes like every export route (R-FILE-9).
 */
export function pageApiRouters(deps: {
  db: Knex;
  sessions: SessionService;
  watch: StatusWatch;
  bodyLimit: number;
  schedules: PreviewSettings;
}): Router[] {
  const { db, sessions } = deps;
  return PREFIXES.flatMap((p) => [
    runRoutes({ db, sessions, prefix: `${p}/export` }),
    folderRoutes({ db, sessions, prefix: `${p}/export` }),
    statusRoutes({ watch: deps.watch, sessions, prefix: `${p}/export` }),
    scheduleRoutes({ sessions, bodyLimit: deps.bodyLimit, settings: deps.schedules, prefix: `${p}/schedule` }),
  ]);
}
