import { expect } from 'chai';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe('protected routes (R-AUTH-6)', () => {
  let app: TestApp;
  let anonymous: string;
  before(async () => {
    app = await startTestApp();
    anonymous = (await app.request.get('/api/v1/session').expect(200)).body.token;
  });
  after(async () => app.close());

  const routes: [string, string][] = [
    ['get', '/api/v1/export'],
    ['put', '/api/v1/export'],
    ['get', '/api/v1/export/1'],
    ['post', '/api/v1/export/1'],
    ['delete', '/api/v1/export/1'],
    ['post', '/api/v1/export/1/start'],
    ['post', '/api/v1/export/1/stop'],
    ['post', '/api/v1/export/1/reset_status'],
    ['post', '/api/v1/export/1/passkey'],
    ['get', '/api/v1/v1/export/1'],
    // The web page's routes (issue 13), under both prefixes.
    ['get', '/api/v1/export/1/runs'],
    ['get', '/api/v1/export/1/files'],
    ['get', '/api/v1/export/1/status'],
    ['post', '/api/v1/schedule/preview'],
    ['get', '/api/v1/v1/export/1/runs'],
    ['get', '/api/v1/v1/export/1/files'],
    ['get', '/api/v1/v1/export/1/status'],
    ['post', '/api/v1/v1/schedule/preview'],
  ];
  for (const [method, url] of routes) {
    it(`R-AUTH-6 ${method.toUpperCase()} ${url} needs an authenticated session`, async () => {
      const call = (app.request as unknown as Record<string, (u: string) => import('supertest').Test>)[method];
      for (const token of [undefined, anonymous]) {
        const r = await call.call(app.request, url).query(token ? { token } : {}).send({});
        expect(r.status).to.equal(403);
        expect(r.body.code).to.equal('error.user.not_authenticated');
      }
    });
  }
});
