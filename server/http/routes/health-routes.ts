import Router from '@koa/router';
import type { Knex } from 'knex';
import { migrationsCurrent } from '../../infra/db/migrate.js';

/** R-RUN-5: /healthz says the process is up; /readyz that the database answers and the schema is current. */
export function healthRoutes(db: Knex, isShuttingDown: () => boolean) {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    try {
      if (isShuttingDown()) throw new Error('shutting down');
      await db.raw('select 1');
      const current = await migrationsCurrent(db);
      ctx.status = current ? 200 : 503;
      ctx.body = { status: current ? 'ready' : 'migrations pending' };
    } catch (e) {
      ctx.status = 503;
      ctx.body = { status: 'not ready', reason: (e as Error).message };
    }
  });
  return router;
}
