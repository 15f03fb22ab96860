import Router from '@koa/router';
import type { Knex } from 'knex';
import type { Context, Next } from 'koa';
import type { Config } from '../../config.js';
import { browserErrorKey } from '../../domain/files/browser-errors.js';
import { DownloadService } from '../../domain/files/download-service.js';
import { FileService } from '../../domain/files/file-service.js';
import { invalidValue } from '../../domain/errors.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import type { Metrics, ServedKind } from '../../infra/metrics/metrics.js';
import type { Storage } from '../../infra/storage/storage.js';
import { currentUser, requireUser } from '../middleware/auth.js';
import type { BrowserErrorState } from '../middleware/errors.js';
import { serveRepresentation } from '../serve-representation.js';
import { exportIdOf } from './export-routes.js';

const PREFIXES = ['/api/v1/export', '/api/v1/v1/export'];
const CACHE = 'private, no-transform';

/** The still percent-encoded part of the path after `<id>/<kind>/` (the router's params are already decoded). */
const rawTail = (ctx: Context, kind: string): string => {
  const m = new RegExp(`^/api/v1(?:/v1)?/export/[^/]+/${kind}(?:/(.*))?$`, 's').exec(ctx.path);
  return m?.[1] ?? '';
};

const queryString = (ctx: Context, name: string): string | undefined => {
  const v = ctx.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidValue(name, `${name} must be given once`);
  return v;
};

const dispositionOf = (ctx: Context): 'inline' | 'attachment' | undefined => {
  const d = queryString(ctx, 'disposition');
  if (d === undefined || d === 'inline' || d === 'attachment') return d;
  throw invalidValue('disposition', 'disposition must be inline or attachment');
};

/**
 * R-FILE-7: errors of browser-facing requests become `302 <FRONTEND_URL>/#server_error:<key>`. Not for requests with
 * a `Range` header: those resume a download and never render a page, and download tools follow a redirect to the
 * page as a finished download (curl -C - and wget -c exit 0), so they get the status and JSON error and fail loudly
 * (R-ROB-9: a run-named link whose files are gone answers 410).
 */
const browserErrors =
  (frontendUrl: string, always: boolean) =>
  async (ctx: Context, next: Next): Promise<void> => {
    if ((always || ctx.query.disposition !== undefined) && ctx.get('Range') === '') {
      (ctx.state as BrowserErrorState).browserErrors = { frontendUrl, keyFor: browserErrorKey };
    }
    await next();
  };

/**
 * R-FILE-1/2/5/6/9: `file/<path>` and `zip[/<path>]` for the owner (session required, JSON errors unless
 * `disposition` is set; `?run=<runId>` pins a run, R-ROB-9), and anonymous `download/<passkey>/[run/<runId>/]<file name>`
 * (always browser errors), under both prefixes.
 */
export function fileRouters(deps: { db: Knex; storage: Storage; sessions: SessionService; config: Config; metrics?: Metrics }): Router[] {
  const meter = (kind: ServedKind) => deps.metrics?.served(kind);
  const files = new FileService(deps);
  const downloads = new DownloadService(deps);
  const frontendUrl = deps.config.FRONTEND_URL.replace(/\/+$/, '');
  const owner = [browserErrors(frontendUrl, false), requireUser(deps.sessions)];

  return PREFIXES.map((prefix) => {
    const router = new Router({ prefix });
    router.get(['/:id/file', '/:id/file/{*path}'], ...owner, async (ctx) => {
      const disposition = dispositionOf(ctx);
      const rep = await files.file(currentUser(ctx).id, exportIdOf(ctx), rawTail(ctx, 'file'), queryString(ctx, 'filename'), queryString(ctx, 'run'));
      await serveRepresentation(ctx, rep, { disposition, cacheControl: CACHE, meter: meter('file') });
    });
    router.get(['/:id/zip', '/:id/zip/{*path}'], ...owner, async (ctx) => {
      const disposition = dispositionOf(ctx);
      const rep = await files.zip(currentUser(ctx).id, exportIdOf(ctx), rawTail(ctx, 'zip'), queryString(ctx, 'filename'), queryString(ctx, 'run'));
      await serveRepresentation(ctx, rep, { disposition: disposition ?? 'attachment', cacheControl: CACHE, meter: meter('zip') });
    });
    router.get(['/:id/download', '/:id/download/{*rest}'], browserErrors(frontendUrl, true), async (ctx) => {
      const [passkey = '', ...name] = rawTail(ctx, 'download').split('/');
      const rep = await downloads.resolve(exportIdOf(ctx), passkey, name.join('/'), ctx.ip);
      await serveRepresentation(ctx, rep, { disposition: dispositionOf(ctx) ?? 'attachment', cacheControl: CACHE, meter: meter(rep.kind ?? 'download') });
    });
    return router;
  });
}

// R-FILE-10 / R-UI-1: the root page (the web export manager) lives in web-routes.ts.
export { pageRoutes } from './web-routes.js';
