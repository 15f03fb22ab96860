import SwaggerParser from '@apidevtools/swagger-parser';
import { expect } from 'chai';
import { openApiDocument } from '../../server/http/openapi/document.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createResponseChecker, documentOperations, routerOperations } from '../helpers/openapi-check.js';

describe('OpenAPI document (SPEC §13)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => t?.close());

  it('(a) documents exactly the routes the router answers, both ways', () => {
    const routes = routerOperations(t.app);
    const documented = documentOperations(openApiDocument());
    expect(routes.size).to.be.greaterThan(40);
    expect(
      [...routes].filter((r) => !documented.has(r)),
      'routes missing from the document',
    ).to.deep.equal([]);
    expect(
      [...documented].filter((r) => !routes.has(r)),
      'documented operations no router answers',
    ).to.deep.equal([]);
  });

  it('(b) is valid OpenAPI 3.1 according to @apidevtools/swagger-parser', async () => {
    // validate() dereferences in place: give it a copy.
    const api = (await SwaggerParser.validate(structuredClone(openApiDocument()) as never)) as { openapi: string };
    expect(api.openapi).to.equal('3.1.0');
  });

  it('(b) every {parameter} of a path is declared as a path parameter and every path parameter is in its path', () => {
    // swagger-parser checks this for Swagger 2.0 only; an undeclared parameter would break generated clients.
    const problems: string[] = [];
    for (const [p, item] of Object.entries(
      openApiDocument().paths as Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>,
    )) {
      const inPath = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries(item)) {
        const declared = (op.parameters ?? [])
          .filter((x) => x.in === 'path')
          .map((x) => x.name)
          .sort();
        if (JSON.stringify(inPath) !== JSON.stringify(declared)) problems.push(`${method} ${p}: ${declared.join(',')}`);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('is served under both prefixes, the same document', async () => {
    const a = await t.request.get('/api/v1/openapi.json').expect(200).expect('Content-Type', /json/);
    const b = await t.request.get('/api/v1/v1/openapi.json').expect(200);
    expect(a.body).to.deep.equal(b.body);
    expect(a.body.paths['/api/v1/v1/export/{id}/download/{rest}'].get.security).to.deep.equal([]);
    expect(Object.keys(a.body.components.securitySchemes)).to.have.members(['token', 'exportToken', 'bearer', 'metricsToken']);
  });

  it('(c) the response checker rejects a body, a status or a header the document does not describe', () => {
    const check = createResponseChecker();
    const json = { 'content-type': 'application/json; charset=utf-8' };
    const ok = { method: 'GET', path: '/healthz', status: 200, headers: json, body: { status: 'ok' } };
    expect(check(ok)).to.equal(null);
    expect(check({ ...ok, body: { status: 'fine' } })).to.match(/does not match/);
    expect(check({ ...ok, status: 201 })).to.match(/not documented/);
    expect(check({ ...ok, path: '/nowhere' })).to.match(/no documented operation/);
    const error = { realm: 'user', code: 'error.user.not_found', description: 'x', parameters: {} };
    expect(check({ ...ok, path: '/api/v1/export/7', status: 404, body: error })).to.equal(null);
    expect(check({ ...ok, path: '/api/v1/export/7', status: 404, body: { ...error, code: 'nope' } })).to.match(
      /does not match/,
    );
    const partial = {
      method: 'GET',
      path: '/api/v1/export/7/file/a/b.csv',
      status: 206,
      headers: { 'content-type': 'text/csv' },
      body: 'x',
    };
    expect(check(partial)).to.match(/Content-Range/);
    expect(check({ ...partial, headers: { ...partial.headers, 'content-range': 'bytes 0-0/9' } })).to.equal(null);
  });

  it('/api/docs serves the reference from local files, without inline script', async () => {
    const page = await t.request.get('/api/docs').expect(200).expect('Content-Type', /html/);
    expect(page.headers['content-security-policy']).to.match(/script-src 'self'(;|$)/);
    const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).to.be.greaterThan(0);
    for (const [, attrs, inline] of scripts) {
      expect(inline.trim(), 'inline script').to.equal('');
      const src = /src="([^"]+)"/.exec(attrs)?.[1] ?? '';
      expect(src).to.match(/^\/api\/docs\//);
      const res = await t.request
        .get(src)
        .expect(200)
        .expect('Content-Type', /javascript/);
      expect(res.text.length).to.be.greaterThan(100);
    }
    expect(page.text).not.to.match(/https?:\/\//);
    await t.request.get('/api/docs/swagger-ui.css').expect(200).expect('Content-Type', /css/);
    await t.request.get('/api/docs/package.json').expect(404);
  });
});
