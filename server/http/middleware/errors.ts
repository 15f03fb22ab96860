import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import { AppError, isAppError } from '../../domain/errors.js';
import { appErrorFromPg } from '../../infra/db/pg-errors.js';

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
 * The one place that renders failures (SPEC §2): AppErrors as `{realm, code, description, parameters}`;
 * server errors get a uuid that is also in the log line, and never a stack.
 */
export async function errorMiddleware(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      throw new AppError(404, 'api', 'not_found', `No route for ${ctx.method} ${ctx.path}`, { type: 'route' });
    }
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
      ctx.state.log?.error({ err: (e.cause as Error) ?? e, uuid: body.uuid }, 'request failed');
    }
    const browser = (ctx.state as BrowserErrorState).browserErrors;
    if (browser && !ctx.headerSent) {
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
    if (e.status === 429 && typeof e.parameters.retry_after === 'number') ctx.set('Retry-After', String(e.parameters.retry_after));
    ctx.status = e.status;
    ctx.body = body;
  }
}
