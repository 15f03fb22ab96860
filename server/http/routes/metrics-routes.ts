import { createHash, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { userError } from '../../domain/errors.js';
import type { Metrics } from '../../infra/metrics/metrics.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * GET /metrics in Prometheus' text format. With METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>` may
 * read it (Prometheus' `authorization` scrape setting); the comparison takes the same time whatever the guess.
 */
export function metricsRoutes(metrics: Metrics, token: string) {
  const expected = token ? digest(token) : null;
  const router = new Router();
  router.get('/metrics', async (ctx: Context) => {
    if (expected) {
      const m = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
      if (!m || !timingSafeEqual(digest(m[1]), expected)) {
        ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
        throw userError(401, 'not_authenticated', 'The metrics need Authorization: Bearer <METRICS_TOKEN>', { reason: 'metrics_token' });
      }
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.contentType;
    ctx.body = await metrics.text();
  });
  return router;
}
