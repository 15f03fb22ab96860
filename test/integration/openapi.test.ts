import SwaggerParser from '@apidevtools/swagger-parser';
import { expect } from 'chai';
import { openApiDocument } from '../../server/http/openapi/document.js';
import { validateSchedules } from '../../server/domain/schedules/schema.js';
import { createTransportRegistry } from '../../server/domain/transports/registry.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  createResponseChecker,
  documentOperations,
  documentQueryParameters,
  routerOperations,
  routerQueryParameters,
  schemaValidator,
} from '../helpers/openapi-check.js';

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

  it('(a) documents exactly the query parameters each route validates its query with', () => {
    const routes = routerQueryParameters(t.app);
    const documented = documentQueryParameters(openApiDocument());
    const differ = [...routes]
      .filter(([op, names]) => JSON.stringify(names) !== JSON.stringify(documented.get(op) ?? []))
      .map(([op, names]) => `${op}: route ${names.join(',') || '(none)'}, document ${documented.get(op)?.join(',') || '(none)'}`);
    expect(differ).to.deep.equal([]);
    // Not vacuous: the routes that take query parameters are seen on both sides.
    expect(routes.get('GET /api/v1/export')).to.deep.equal(['filter', 'limit', 'offset']);
    expect(routes.get('GET /api/v1/v1/export/{id}/download/{rest}')).to.deep.equal(['disposition']);
    expect(documented.get('POST /api/v1/session/authenticate')).to.deep.equal(['login', 'password', 'token']);
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

  describe('_transports and _schedules of an export body', () => {
    const doc = openApiDocument() as { components: { schemas: Record<string, any> } };
    const schemas = doc.components.schemas;
    const validEntry = schemaValidator('#/components/schemas/TransportEntry');
    const validSchedule = schemaValidator('#/components/schemas/Schedule');
    const validBody = schemaValidator('#/components/schemas/ExportBody');
    const registry = createTransportRegistry({ allowHosts: [], directoryRoots: ['/srv/exports'], smtpUrl: null });

    /** One entry the server accepts for each type it knows. */
    const SAMPLES: Record<string, unknown> = {
      download: { type: 'download', packer: 'zip_10mb', email: { recipients: ['a@example.com'] } },
      email: { type: 'email', options: { notify: 'failure' }, email: { recipients: ['a@example.com'], message: 'Hi' } },
      directory: { type: 'directory', options: { path: '/srv/exports/team' } },
      sftp: { type: 'sftp', packer: 'tar', options: { host: 'sftp.example.com', username: 'u', password: 'sample-pw' } },
      ftp: { type: 'ftp', options: { host: 'ftp.example.com', secure: 'explicit', path: 'in' } },
      s3: { type: 's3', options: { bucket: 'my-bucket', access_key_id: 'AKIA', secret_access_key: 'sample-secret' } },
      webhook: { type: 'webhook', options: { url: 'https://hooks.example.com/x', secret: 'sample-secret' } },
      url: { type: 'url', url: 'sftp://u:p@sftp.example.com/in' },
    };

    it('the document’s transport types are the registry’s, discriminated by type', () => {
      const mapping = schemas.TransportEntry.discriminator.mapping as Record<string, string>;
      expect(schemas.TransportEntry.discriminator.propertyName).to.equal('type');
      expect(Object.keys(mapping)).to.have.members([...registry.types]);
      expect(Object.keys(mapping)).to.have.members([...t.transports.types]);
      expect(schemas.TransportEntry.oneOf.map((r: { $ref: string }) => r.$ref)).to.have.members(Object.values(mapping));
      expect(schemas.ExportBody.properties._transports.items).to.deep.equal({ $ref: '#/components/schemas/TransportEntry' });
      expect(schemas.ExportBody.properties._schedules.items).to.deep.equal({ $ref: '#/components/schemas/Schedule' });
    });

    it('a sample entry of each type, which the server accepts, validates against the document', () => {
      expect(Object.keys(SAMPLES)).to.have.members([...registry.types], 'a sample for every type');
      for (const [type, entry] of Object.entries(SAMPLES)) {
        expect(() => registry.validateTransports([entry]), type).not.to.throw();
        expect(validEntry(entry), `${type}: ${validEntry.errors()}`).to.equal(true);
      }
      expect(validBody({ export: { type: 'download' }, _transports: Object.values(SAMPLES) })).to.equal(true);
    });

    it('entries the server refuses for their shape do not validate either', () => {
      const sftp = SAMPLES.sftp as { options: object };
      for (const bad of [
        { type: 'nope' },
        { ...sftp, options: { ...sftp.options, bogus: 1 } },
        { type: 'sftp', options: { username: 'u', password: 'x' } },
        { type: 'webhook', options: { url: 'https://x.example.com' }, email: { recipients: ['a@example.com'] } },
        { type: 'email' },
      ]) {
        expect(() => registry.validateTransports([bad]), JSON.stringify(bad)).to.throw();
        expect(validEntry(bad), JSON.stringify(bad)).to.equal(false);
      }
    });

    it('secret options are write-only (GET shows "***")', () => {
      const secretsShown: string[] = [];
      for (const type of registry.types) {
        const name = schemas.TransportEntry.discriminator.mapping[type].split('/').pop();
        const properties = schemas[name].properties.options?.properties ?? {};
        for (const secret of registry.getTransport(type).secretOptions) {
          if (!properties[secret]) continue;
          expect(properties[secret].writeOnly, `${type}.options.${secret}`).to.equal(true);
          secretsShown.push(`${type}.${secret}`);
        }
      }
      expect(secretsShown).to.include.members(['sftp.password', 'sftp.private_key', 'ftp.password', 's3.secret_access_key', 'webhook.secret', 'url.url']);
    });

    it('schedules: both shapes validate, as the server accepts them, and what it refuses for its shape does not', () => {
      for (const ok of [{ cron: '0 3 * * 1-5' }, { weekdays: ['friday'], days_of_month: [13], hours: [8], minutes: [0, 30] }, {}]) {
        expect(() => validateSchedules([ok]), JSON.stringify(ok)).not.to.throw();
        expect(validSchedule(ok), JSON.stringify(ok)).to.equal(true);
      }
      for (const bad of [{ cron: '0 3 * * *', hours: [1] }, { hours: [] }, { hours: [24] }, { weekdays: ['someday'] }, { minutes: [1, 1] }]) {
        expect(() => validateSchedules([bad]), JSON.stringify(bad)).to.throw();
        expect(validSchedule(bad), JSON.stringify(bad)).to.equal(false);
      }
    });
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
    expect(page.headers['content-security-policy']).to.match(/style-src 'self'(;|$)/);
    expect(page.headers['content-security-policy']).not.to.include('unsafe-inline');
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
