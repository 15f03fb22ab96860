import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import Koa from 'koa';
import supertest from 'supertest';
import { BROWSER_ERROR_KEYS } from '../../server/domain/files/browser-errors.js';
import { PAGE_CSP, pageRoutes } from '../../server/http/routes/web-routes.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ensureWebBundle } from '../helpers/web-bundle.js';

const MESSAGES = JSON.parse(
  readFileSync(new URL('../../web/src/server-errors.json', import.meta.url), 'utf8'),
) as Record<string, Record<string, [string, string]>>;

const directives = (csp: string) =>
  new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...values]) => [name, values] as const),
  );

/** Issue 13 item 1: how `/` and its assets are served (caching, CSP, nosniff), and the fallback without a build. */
describe('web export manager page (R-UI-1, R-UI-2)', function () {
  this.timeout(240_000);
  let app: TestApp;

  before(async () => {
    ensureWebBundle();
    app = await startTestApp();
  });
  after(() => app?.close());

  const assetsOf = (html: string) => [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);

  it('serves index.html uncached with a strict CSP, nosniff and no inline script', async () => {
    for (const path of ['/', '/index.html']) {
      const r = await app.request.get(path).expect(200);
      expect(r.headers['content-type']).to.match(/^text\/html/);
      expect(r.headers['cache-control']).to.equal('no-cache');
      expect(r.headers['x-content-type-options']).to.equal('nosniff');
      const csp = directives(r.headers['content-security-policy']);
      expect(csp.get('script-src')).to.deep.equal(["'self'"]);
      expect(csp.get('default-src')).to.deep.equal(["'none'"]);
      expect(csp.get('frame-ancestors')).to.deep.equal(["'none'"]);
      expect(r.headers['content-security-policy']).not.to.match(/unsafe-(inline|eval)/);
      // Every script is a file of this origin; no inline handlers or styles in the markup.
      for (const tag of r.text.match(/<script[^>]*>/g) ?? []) expect(tag).to.match(/src="\/assets\//);
      expect(r.text).not.to.match(/\son[a-z]+=|style=/i);
      expect(assetsOf(r.text).length).to.be.greaterThanOrEqual(2);
    }
  });

  it('serves the hashed assets immutable for a year with their types, and nothing else under /assets', async () => {
    const html = (await app.request.get('/').expect(200)).text;
    const assets = assetsOf(html);
    expect(assets.some((a) => a.endsWith('.js'))).to.equal(true);
    expect(assets.some((a) => a.endsWith('.css'))).to.equal(true);
    let gz = 0;
    for (const a of assets) {
      const r = await app.request
        .get(a)
        .buffer(true)
        .parse((res, cb) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => cb(null, Buffer.concat(chunks)));
        });
      expect(r.status, a).to.equal(200);
      expect(r.headers['cache-control']).to.equal('public, max-age=31536000, immutable');
      expect(r.headers['x-content-type-options']).to.equal('nosniff');
      const type = a.endsWith('.js') ? /^text\/javascript/ : a.endsWith('.css') ? /^text\/css/ : /^image\/svg\+xml/;
      expect(r.headers['content-type']).to.match(type);
      if (!a.endsWith('.svg')) gz += gzipSync(r.body as Buffer).length;
    }
    // Issue 13: the page's JavaScript + CSS stay within 150 KB gzipped (the bench measures it in the browser too).
    expect(gz).to.be.lessThan(150 * 1024);
    for (const bad of [
      '/assets/nothing-12345678.js',
      '/assets/..%2Fpackage.json',
      '/assets/index.html',
      '/assets/x.js',
    ]) {
      const r = await app.request.get(bad);
      expect(r.status, bad).to.equal(404);
      expect(r.body.code, bad).to.be.a('string');
    }
  });

  it('the bundle carries an English and a German message for every #server_error key', async () => {
    expect(Object.keys(MESSAGES).sort()).to.deep.equal([...BROWSER_ERROR_KEYS].sort());
    for (const key of BROWSER_ERROR_KEYS) {
      for (const lang of ['en', 'de']) {
        expect(MESSAGES[key][lang], `${key} ${lang}`).to.have.length(2);
        expect(MESSAGES[key][lang][1].length, `${key} ${lang}`).to.be.greaterThan(20);
      }
    }
    const html = (await app.request.get('/').expect(200)).text;
    const js = assetsOf(html).find((a) => a.endsWith('.js'))!;
    const code = (await app.request.get(js).expect(200)).text;
    expect(code).to.include('server_error:');
    for (const key of BROWSER_ERROR_KEYS) {
      expect(code, key).to.include(key);
      expect(code, key).to.include(MESSAGES[key].de[0]);
    }
  });

  it('without a build, / falls back to the error-message page, its one inline script allowed by its hash', async () => {
    const koa = new Koa();
    koa.use(pageRoutes('/nonexistent/dist/web').routes());
    const r = await supertest(koa.callback()).get('/').expect(200);
    expect(r.text).to.include('npm run build');
    const script = /<script>([\s\S]*?)<\/script>/.exec(r.text)![1];
    const hash = `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
    const csp = directives(r.headers['content-security-policy']);
    expect(csp.get('script-src')).to.deep.equal(["'self'", hash]);
    expect(csp.get('frame-ancestors')).to.deep.equal(["'none'"]);
    expect(r.headers['x-content-type-options']).to.equal('nosniff');
    // The fallback's messages are the bundle's (one source of truth is checked here, not copied by hand twice).
    const json = /<script type="application\/json" id="server-error-messages">([\s\S]*?)<\/script>/.exec(r.text)![1];
    expect(JSON.parse(json)).to.deep.equal(MESSAGES);
    expect(PAGE_CSP).not.to.include('unsafe');
  });
});
