import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import { appErrorFromPg } from '../../domain/db-errors.js';
import { AppError, isAppError } from '../../domain/errors.js';
import { isConnectionError } from '../../infra/db/outage.js';

/** Browser-facing routes set this to get `302 /#server_error:<key>` instead of JSON (R-FILE-7). */
export interface BrowserErrorState {
  browserErrors?: { frontendUrl: string; keyFor(e: AppError): string };
}

function toAppError(e: unknown): AppError {
  if (isAppError(e)) return e;
  const status = (e as { status?: number }).status;
  if (status === 413) return new AppError(413, 'api', 'payload_too_large', 'The request body is too large');
  const fromPg = appErrorFromPg(e);
  if (fromPg) return fromPg;
  return new AppError(500, 'server', 'generic', 'An unexpected error occurred', {}, { cause: e });
}

/**
 * Errors the router answers without a body (no route, a method the route lacks, a method no route knows) get the
 * error shape (docs/errors.md) like every other error instead of Koa's plain-text status message.
 */
function bodylessError(ctx: Context): AppError {
  const route = `${ctx.method} ${ctx.path}`;
  if (ctx.status === 404) return new AppError(404, 'api', 'not_found', `No route for ${route}`, { type: 'route' });
  const allowed = ctx.response.get('Allow');
  if (ctx.status === 405) {
    return new AppError(405, 'api', 'method_not_allowed', `${ctx.method} is not allowed here; allowed: ${allowed}`, {
      method: ctx.method,
      allowed: allowed.split(/,\s*/).filter(Boolean),
    });
  }
  // The router says 501 for a method it knows nowhere (PROPFIND); it is the client's request that is wrong, and a
  // 5xx would read as a server failure to monitoring.
  if (ctx.status === 501) {
    return new AppError(405, 'api', 'method_not_allowed', `The method ${ctx.method} is not supported`, {
      method: ctx.method,
    });
  }
  return new AppError(ctx.status, 'api', 'generic', `${route} failed with status ${ctx.status}`);
}

/**
 * The one place that renders failures (docs/errors.md): AppErrors as `{realm, code, description, parameters}`;
 * server errors get a uuid that is also in the log line, and never a stack.
 */
export async function errorMiddleware(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    // The client left and the handler gave the response up (status 499 for the log): nothing to render.
    if (ctx.respond === false) return;
    if (ctx.status >= 400 && ctx.body == null) throw bodylessError(ctx);
  } catch (raw) {
    const e = toAppError(raw);
    const body: Record<string, unknown> = {
      realm: e.realm,
      code: e.code,
      description: e.message,
      parameters: e.parameters,
    };
    if (e.status >= 500) {
      body.uuid = randomUUID();
      // An unreachable database fails every request alike: one line each, without the stack.
      if (isConnectionError(e.cause)) {
        ctx.state.log?.warn({ uuid: body.uuid, reason: (e.cause as Error).message }, 'request failed: database unreachable');
      } else {
        ctx.state.log?.error({ err: (e.cause as Error) ?? e, uuid: body.uuid }, 'request failed');
      }
    }
    // Throttled: the redirect of a browser-facing route says when to come back too (R-FILE-7).
    const retryAfter = e.status === 429 && typeof e.parameters.retry_after === 'number' ? String(e.parameters.retry_after) : null;
    const browser = (ctx.state as BrowserErrorState).browserErrors;
    if (browser && !ctx.headerSent) {
      if (retryAfter) ctx.set('Retry-After', retryAfter);
      ctx.status = 302;
      ctx.set('Location', `${browser.frontendUrl}/#server_error:${browser.keyFor(e)}`);
      // An empty string, not null: Koa turns a null body into 204 and drops the redirect.
      ctx.body = '';
      return;
    }
    if (ctx.headerSent) {
      // Bytes already flowed (a stream failed mid-way): the only honest signal left is to cut the connection.
      ctx.req.socket.destroy();
      return;
    }
    if (retryAfter) ctx.set('Retry-After', retryAfter);
    ctx.status = e.status;
    ctx.body = body;
  }
}
