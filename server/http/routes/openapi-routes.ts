import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import { API_PREFIXES, openApiDocument } from '../openapi/document.js';

const STATIC = new URL('../static/', import.meta.url);
const SWAGGER_UI = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The only files /api/docs/<asset> serves: a fixed list, so no path from the request reaches the file system. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: path.join(SWAGGER_UI, 'swagger-ui.css'), type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': {
    file: path.join(SWAGGER_UI, 'swagger-ui-bundle.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'api-docs-init.js': {
    file: fileURLToPath(new URL('api-docs-init.js', STATIC)),
    type: 'text/javascript; charset=utf-8',
  },
};

/**
 * Scripts and styles only from this origin, nothing inline. Swagger UI's inline styles are React style props, which
 * it sets through the CSSOM (element.style), and CSP does not govern those; so no 'unsafe-inline' (README: API
 * reference). It shows data: images.
 */
const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/** Files are read on first use (the bundle is 1.7 MB; most processes never serve it) and kept. */
const cache = new Map<string, Promise<Buffer>>();
const load = (file: string) => {
  let p = cache.get(file);
  if (!p) {
    p = readFile(file);
    p.catch(() => cache.delete(file));
    cache.set(file, p);
  }
  return p;
};

/** R-SCALE-4: `GET <prefix>/openapi.json` under both prefixes, and the browsable reference at /api/docs. */
export function openApiRoutes(): Router {
  const router = new Router();
  router.get(
    API_PREFIXES.map((p) => `${p}/openapi.json`),
    (ctx) => {
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = openApiDocument();
    },
  );
  router.get('/api/docs', async (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('Content-Security-Policy', DOCS_CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = await load(fileURLToPath(new URL('api-docs.html', STATIC)));
  });
  router.get('/api/docs/:asset', async (ctx) => {
    const asset = Object.hasOwn(ASSETS, ctx.params.asset) ? ASSETS[ctx.params.asset] : undefined;
    if (!asset) return; // the router's 404 renders the error shape
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = await load(asset.file);
  });
  return router;
}
