import type Router from '@koa/router';
import type { StatusWatch } from '../../domain/exports/status-watch.js';
import type { PreviewSettings } from '../../domain/schedules/preview.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { API_PREFIXES } from '../mount.js';
import { folderRoutes, type ListFolder } from './folder-routes.js';
import { type ListRuns, runRoutes } from './run-routes.js';
import { scheduleRoutes } from './schedule-routes.js';
import { statusRoutes } from './status-routes.js';

/**
 * What the web export manager needs beyond the seed's API: the run history, a paged folder listing and the
 * status with a long-poll (export routes, mounted under both prefixes by mountExportRouter), and a schedule preview.
 */
export function pageExportRouters(deps: {
  listRuns: ListRuns;
  listFolder: ListFolder;
  sessions: SessionService;
  watch: StatusWatch;
}): Router[] {
  const { sessions } = deps;
  return [
    runRoutes({ listRuns: deps.listRuns, sessions }),
    folderRoutes({ listFolder: deps.listFolder, sessions }),
    statusRoutes({ watch: deps.watch, sessions }),
  ];
}

/** `POST <prefix>/schedule/preview` under both API prefixes (R-FILE-9). */
export function schedulePreviewRouters(deps: {
  sessions: SessionService;
  bodyLimit: number;
  schedules: PreviewSettings;
}): Router[] {
  return API_PREFIXES.map((p) =>
    scheduleRoutes({ sessions: deps.sessions, bodyLimit: deps.bodyLimit, settings: deps.schedules, prefix: `${p}/schedule` }),
  );
}
