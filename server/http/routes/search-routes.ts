import Router from '@koa/router';
import { presentObject } from '../../domain/objects/object-presenter.js';
import { parseSearchDefinition, type searchPage } from '../../domain/search/index.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { currentUser, requireUser } from '../middleware/auth.js';
import { readBody } from '../middleware/body.js';

/** One page of the owner's objects that match a search: the domain's searchPage, bound to the database in compose.ts. */
export type SearchPage = (ownerId: number, def: Parameters<typeof searchPage>[2]) => ReturnType<typeof searchPage>;

/** R-DATA-3: `POST /api/v1/search` previews a search over the caller's objects: `{count, offset, limit, objects}`. */
export function searchRoutes(deps: { searchPage: SearchPage; sessions: SessionService; bodyLimit: number }) {
  const router = new Router({ prefix: '/api/v1/search' });
  router.use(requireUser(deps.sessions));
  router.post('/', async (ctx) => {
    const def = parseSearchDefinition(await readBody(ctx, deps.bodyLimit), 'search');
    const page = await deps.searchPage(currentUser(ctx).id, def);
    ctx.body = { count: page.count, offset: page.offset, limit: page.limit, objects: page.rows.map(presentObject) };
  });
  return router;
}
