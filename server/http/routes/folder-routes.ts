import Router from '@koa/router';
import type { listFolder } from '../../domain/files/folder-listing.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { currentUser, requireUser } from '../middleware/auth.js';
import { folderQuery, query } from '../query.js';
import { exportIdOf } from './export-routes.js';

/** A page of one folder of an owner's export: the domain's listFolder, bound to the database in compose.ts. */
export type ListFolder = (ownerId: number, exportId: number, query: unknown) => ReturnType<typeof listFolder>;

/** `GET …/export/<id>/files?prefix=&limit=&offset=[&run=]`: a page of one folder of the published files. */
export function folderRoutes(deps: { listFolder: ListFolder; sessions: SessionService }): Router {
  const router = new Router();
  router.get('/:id/files', requireUser(deps.sessions), query(folderQuery), async (ctx) => {
    ctx.body = await deps.listFolder(currentUser(ctx).id, exportIdOf(ctx), ctx.query);
  });
  return router;
}
