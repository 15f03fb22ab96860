import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../../infra/logger.js';
import type { Metrics } from '../../infra/metrics/metrics.js';

/** The path with the passkey of an anonymous download link (`…/download/<passkey>/…`) replaced by `***`. */
export const loggedPath = (p: string): string => p.replace(/(\/download\/)[^/]+/, '$1***');

/** Route label of a request no route matched: one series for all of them, never the raw path. */
const UNMATCHED_ROUTE = '(unmatched)';

/** Body bytes of the response as far as they are known: counted by the file server, else Content-Length. */
interface SentBytes {
  sentBytes?: number;
}

/**
 * Request id (from X-Request-Id or new) on every response and log line, and one access line per request at `info`
 * when its response ended (sent or abandoned), with the HTTP duration histogram observed at the same moment
 * (R-SCALE-3/4). The route is the router's pattern (`/api/v1/export/:id/file/{*path}`), which names no secret; the
 * path is never logged raw: query strings may carry session tokens, download paths a passkey.
 */
export function requestContext(log: Logger, metrics?: Metrics) {
  return async (ctx: Context, next: Next) => {
    const incoming = ctx.get('x-request-id');
    const id = /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', id);
    ctx.state.requestId = id;
    ctx.state.log = log.child({ req_id: id });
    const started = performance.now();
    let logged = false;
    const done = () => {
      if (logged) return;
      logged = true;
      const seconds = (performance.now() - started) / 1000;
      // A response the client left before it was complete is 499 (nginx's "client closed request"), never sent.
      const status = ctx.respond === false || !ctx.res.writableFinished ? 499 : ctx.res.statusCode;
      const route = matchedRoute(ctx);
      metrics?.httpRequest(ctx.method, route, status, seconds);
      const user = ctx.state.user as { id?: number } | undefined;
      ctx.state.log.info(
        {
          method: ctx.method,
          route,
          path: loggedPath(ctx.path),
          status,
          bytes: bodyBytes(ctx),
          ms: Math.round(seconds * 1000),
          ...(user?.id !== undefined ? { user_id: user.id } : {}),
        },
        'request',
      );
    };
    // 'close' comes once the response was sent in full or the connection went: after Koa piped a streamed body.
    ctx.res.once('close', done);
    await next();
  };
}

function matchedRoute(ctx: Context): string {
  const route = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  return typeof route === 'string' ? route : UNMATCHED_ROUTE;
}

function bodyBytes(ctx: Context): number {
  const counted = (ctx.state as SentBytes).sentBytes;
  if (counted !== undefined) return counted;
  if (ctx.method === 'HEAD' || !ctx.res.writableFinished) return 0;
  const length = Number(ctx.res.getHeader('content-length'));
  return Number.isFinite(length) ? length : 0;
}
