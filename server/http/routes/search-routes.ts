import Router from '@koa/router';
import type { Knex } from 'knex';
import { presentObject } from '../../domain/objects/object-presenter.js';
import { parseSearchDefinition, searchPage } from '../../domain/search/index.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { currentUser, requireUser } from '../middleware/auth.js';
import { readBody } from '../middleware/body.js';

/** R-DATA-3: `POST /api/v1/search` previews a search over the caller's objects: `{count, offset, limit, objects}`. */
export function searchRoutes(deps: { db: Knex; sessions: SessionService; bodyLimit: number }) {
  const router = new Router({ prefix: '/api/v1/search' });
  router.use(requireUser(deps.sessions));
  router.post('/', async (ctx) => {
    const def = parseSearchDefinition(await readBody(ctx, deps.bodyLimit), 'search');
    const page = await searchPage(deps.db, currentUser(ctx).id, def);
    ctx.body = { count: page.count, offset: page.offset, limit: page.limit, objects: page.rows.map(presentObject) };
  });
  return router;
}
