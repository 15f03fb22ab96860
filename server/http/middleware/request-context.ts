import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../../infra/logger.js';

/** The path with the passkey of an anonymous download link (`…/download/<passkey>/…`) replaced by `***`. */
export const loggedPath = (p: string): string => p.replace(/(\/download\/)[^/]+/, '$1***');

/** Request id (from X-Request-Id or new) on every response and log line (R-SCALE-3). */
export function requestContext(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const incoming = ctx.get('x-request-id');
    const id = /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', id);
    ctx.state.requestId = id;
    ctx.state.log = log.child({ req_id: id });
    const started = performance.now();
    try {
      await next();
    } finally {
      // Query strings are not logged (they may carry session tokens), nor the passkey of a download link.
      ctx.state.log.debug(
        { method: ctx.method, path: loggedPath(ctx.path), status: ctx.status, ms: Math.round(performance.now() - started) },
        'request',
      );
    }
  };
}
