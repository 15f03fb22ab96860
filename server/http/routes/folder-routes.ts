import Router from '@koa/router';
import type { Knex } from 'knex';
import { listFolder } from '../../domain/files/folder-listing.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { currentUser, requireUser } from '../middleware/auth.js';
import { exportIdOf } from './export-routes.js';

/** `GET …/export/<id>/files?prefix=&limit=&offset=[&run=]`: a page of one folder of the published files. */
export function folderRoutes(deps: { db: Knex; sessions: SessionService; prefix: string }): Router {
  const router = new Router({ prefix: deps.prefix });
  router.get('/:id/files', requireUser(deps.sessions), async (ctx) => {
    ctx.body = await listFolder(deps.db, currentUser(ctx).id, exportIdOf(ctx), ctx.query);
  });
  return router;
}
