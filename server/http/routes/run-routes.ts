import Router from '@koa/router';
import type { Knex } from 'knex';
import { listRuns } from '../../domain/exports/run-history.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { currentUser, requireUser } from '../middleware/auth.js';
import { exportIdOf } from './export-routes.js';

/** `GET …/export/<id>/runs?limit=&offset=`: the run history, newest first, under both prefixes. */
export function runRoutes(deps: { db: Knex; sessions: SessionService; prefix: string }): Router {
  const router = new Router({ prefix: deps.prefix });
  router.get('/:id/runs', requireUser(deps.sessions), async (ctx) => {
    ctx.body = await listRuns(deps.db, currentUser(ctx).id, exportIdOf(ctx), ctx.query);
  });
  return router;
}
