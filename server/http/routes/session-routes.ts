import Router from '@koa/router';
import type { Context } from 'koa';
import { presentSession, type SessionService } from '../../domain/sessions/sessions.js';
import { tokenOf } from '../middleware/auth.js';
import { readBody } from '../middleware/body.js';
import { authenticateQuery, query, queryOf } from '../query.js';

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** R-AUTH-1..3: sessions; credentials from the query, a form or a JSON body. */
export function sessionRoutes(sessions: SessionService, bodyLimit: number) {
  const router = new Router({ prefix: '/api/v1/session' });

  router.get('/', async (ctx) => {
    const token = tokenOf(ctx);
    ctx.body = presentSession(token ? await sessions.require(token) : await sessions.create());
  });

  router.post('/authenticate', query(authenticateQuery), async (ctx: Context) => {
    const body = (await readBody(ctx, bodyLimit, { form: true })) as Record<string, unknown>;
    const q = queryOf(ctx, authenticateQuery);
    const field = (name: keyof typeof q) => str(q[name]) || str(body?.[name]);
    const token = tokenOf(ctx) ?? (field('token') || undefined);
    const session = await sessions.authenticate(token, field('login'), field('password'), ctx.ip);
    ctx.body = presentSession(session);
  });

  router.post('/deauthenticate', async (ctx) => {
    ctx.body = presentSession(await sessions.deauthenticate(tokenOf(ctx)));
  });

  return router;
}
