import Router from '@koa/router';
import type { listRuns } from '../../domain/exports/run-history.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { currentUser, requireUser } from '../middleware/auth.js';
import { runListQuery, query } from '../query.js';
import { exportIdOf } from './export-routes.js';

/** The run history of one of the owner's exports: the domain's listRuns, bound to the database in compose.ts. */
export type ListRuns = (ownerId: number, exportId: number, query: unknown) => ReturnType<typeof listRuns>;

/** `GET …/export/<id>/runs?limit=&offset=`: the run history, newest first. */
export function runRoutes(deps: { listRuns: ListRuns; sessions: SessionService }): Router {
  const router = new Router();
  router.get('/:id/runs', requireUser(deps.sessions), query(runListQuery), async (ctx) => {
    ctx.body = await deps.listRuns(currentUser(ctx).id, exportIdOf(ctx), ctx.query);
  });
  return router;
}
