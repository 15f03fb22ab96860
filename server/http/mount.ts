import Router from '@koa/router';
import type Koa from 'koa';
import type { Context, Next } from 'koa';

/** R-FILE-9: the API answers under `/api/v1` and the seed's doubled `/api/v1/v1` alike (export routes, openapi.json). */
export const API_PREFIXES = ['/api/v1', '/api/v1/v1'] as const;
const EXPORT_PREFIXES = API_PREFIXES.map((p) => `${p}/export`);

/**
 * Mounts `router` (paths relative to the prefix, e.g. `/:id/file`) under every export prefix, behind `middleware`
 * (which then applies to this router's routes only). The one place both prefixes are known.
 */
export function mountExportRouter(
  app: Koa,
  router: Router,
  ...middleware: ((ctx: Context, next: Next) => Promise<void>)[]
): void {
  for (const prefix of EXPORT_PREFIXES) {
    const mount = new Router({ prefix });
    for (const m of middleware) mount.use(m);
    mount.use(router.routes(), router.allowedMethods());
    app.use(mount.routes()).use(mount.allowedMethods());
  }
}
