import Router from '@koa/router';
import type { Context } from 'koa';
import { checkObjecttype, parseObjectId, parseObjectsBody } from '../../domain/objects/object-input.js';
import { presentObject } from '../../domain/objects/object-presenter.js';
import type { ObjectService } from '../../domain/objects/object-service.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { currentUser, requireUser } from '../middleware/auth.js';
import { readBody } from '../middleware/body.js';

/** R-DATA-1: `PUT /api/v1/db/<objecttype>` (bulk create/update), `GET`/`DELETE /api/v1/db/<objecttype>/<id>`. */
export function objectRoutes(deps: { objects: ObjectService; sessions: SessionService; bodyLimit: number; maxObjectBytes: number }) {
  const { objects } = deps;
  const router = new Router({ prefix: '/api/v1/db' });
  router.use(requireUser(deps.sessions));
  const target = (ctx: Context) => ({ type: checkObjecttype(ctx.params.objecttype), id: parseObjectId(ctx.params.id) });

  router.put('/:objecttype', async (ctx) => {
    const type = checkObjecttype(ctx.params.objecttype);
    const inputs = parseObjectsBody(await readBody(ctx, deps.bodyLimit), type, deps.maxObjectBytes);
    const saved = await objects.save(currentUser(ctx).id, type, inputs);
    ctx.body = saved.map(presentObject);
  });

  router.get('/:objecttype/:id', async (ctx) => {
    const { type, id } = target(ctx);
    ctx.body = presentObject(await objects.get(currentUser(ctx).id, type, id));
  });

  router.delete('/:objecttype/:id', async (ctx) => {
    const { type, id } = target(ctx);
    const row = await objects.remove(currentUser(ctx).id, type, id);
    ctx.body = { _objecttype: type, [type]: { _id: row.id, _version: row.version }, deleted: true };
  });
  return router;
}
