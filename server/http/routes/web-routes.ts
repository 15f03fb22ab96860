import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import type { Context } from 'koa';

/** The package root: the nearest folder above this module with a package.json (the same from server/ and dist/server/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the web routes');
    dir = up;
  }
  return dir;
}

/** Where `npm run build` (vite) writes the web export manager. */
const WEB_DIST = path.join(packageRoot(), 'dist', 'web');
/** Shown when the bundle was not built (e.g. `npm run start:dev` on a fresh clone): the error-message page only. */
const FALLBACK_PAGE = fileURLToPath(new URL('../static/index.html', import.meta.url));

/**
 * The page holds a session token, so nothing but this origin's own files may run or be framed: no inline
 * script, no eval, no framing. Styles come from the bundle's CSS file; the SVG chart and Preact set no style markup.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Vite names every emitted asset `<name>-<hash>.<ext>`; only such plain names reach the file system. */
const ASSET_NAME = /^[A-Za-z0-9_.-]+-[A-Za-z0-9_-]{8,}\.(js|css|svg)$/;
const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

function securityHeaders(ctx: Context, csp: string) {
  ctx.set('Content-Security-Policy', csp);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'no-referrer');
}

interface Page {
  html: Buffer;
  csp: string;
  /** mtime of the built index.html, or -1 for the fallback page. */
  version: number;
}

const builtVersion = (dist: string) => {
  try {
    return statSync(path.join(dist, 'index.html')).mtimeMs;
  } catch {
    return -1;
  }
};

/** The built index.html, or the fallback page whose one inline script is allowed by its hash. */
function loadPage(dist: string, version: number): Page {
  if (version >= 0) return { html: readFileSync(path.join(dist, 'index.html')), csp: PAGE_CSP, version };
  const html = readFileSync(FALLBACK_PAGE);
  const scripts = [...html.toString('utf8').matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`,
  );
  const csp = PAGE_CSP.replace("script-src 'self'", `script-src 'self' ${scripts.join(' ')}`).replace(
    "style-src 'self'",
    "style-src 'self' 'unsafe-inline'",
  );
  return { html, csp, version };
}

/**
 * R-UI-1 / R-FILE-10: `/` serves the web export manager (built by `npm run build` into dist/web); its hashed assets are
 * cached for a year, the page itself is revalidated on every load so a new build is seen at once.
 */
export function pageRoutes(dist = WEB_DIST): Router {
  // Checked on every request (one stat): a build after start-up, or a test building the bundle, is served at once.
  let page: Page | undefined;
  const router = new Router();
  router.get(['/', '/index.html'], (ctx) => {
    const version = builtVersion(dist);
    if (page?.version !== version) page = loadPage(dist, version);
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    securityHeaders(ctx, page.csp);
    ctx.body = page.html;
  });
  const cache = new Map<string, Promise<Buffer>>();
  router.get('/assets/:file', async (ctx) => {
    const file = ctx.params.file;
    const m = ASSET_NAME.exec(file);
    const full = path.join(dist, 'assets', file);
    if (!m || !existsSync(full)) return; // the router's 404 renders the error shape
    let body = cache.get(file);
    if (!body) {
      body = readFile(full);
      body.catch(() => cache.delete(file));
      cache.set(file, body);
    }
    ctx.type = TYPES[m[1]];
    ctx.set('Cache-Control', IMMUTABLE);
    securityHeaders(ctx, PAGE_CSP);
    ctx.body = await body;
  });
  return router;
}
