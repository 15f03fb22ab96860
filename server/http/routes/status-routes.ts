import Router from '@koa/router';
import type { StatusWatch } from '../../domain/exports/status-watch.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { currentUser, requireUser } from '../middleware/auth.js';
import { exportIdOf } from './export-routes.js';

/**
 * `GET …/export/<id>/status[?wait=<_changed>&timeout=<s>]`: the export's state, or a long-poll until it changes. A
 * client that goes away aborts its wait at once; nobody is left to answer then (499 only in the request log).
 */
export function statusRoutes(deps: { watch: StatusWatch; sessions: SessionService; prefix: string }): Router {
  const router = new Router({ prefix: deps.prefix });
  router.get('/:id/status', requireUser(deps.sessions), async (ctx) => {
    const controller = new AbortController();
    const gone = () => controller.abort();
    ctx.res.once('close', gone);
    try {
      const status = await deps.watch.follow(currentUser(ctx).id, exportIdOf(ctx), ctx.query, controller.signal);
      if (status === null || ctx.res.destroyed) {
        ctx.status = 499;
        ctx.respond = false;
        return;
      }
      ctx.set('Cache-Control', 'no-store');
      ctx.body = status;
    } finally {
      ctx.res.off('close', gone);
    }
  });
  return router;
}
