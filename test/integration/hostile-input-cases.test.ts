import { expect } from 'chai';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { expectSpecError, send } from '../helpers/hostile.js';

/**
 * Issue 9 finding 8 and Deliver 6, case by case: each hostile input the property tests (hostile-input.test.ts)
 * sample, pinned here with the exact answer, so a regression names itself.
 */
describe('hostile input: clear errors (issue 9)', () => {
  let app: TestApp;
  let token: string;
  let anonymous: string;

  before(async () => {
    app = await startTestApp();
    ({ token } = await app.login('alice'));
    anonymous = (await app.request.get('/api/v1/session').expect(200)).body.token;
  });
  after(() => app.close());

  /** `type` null sends no Content-Type at all. */
  const raw = (method: string, path: string, body: string | Buffer | undefined, type: string | null = 'application/json') =>
    send(app.server, {
      method,
      path,
      headers: { 'X-Export-Token': token, ...(type && body !== undefined ? { 'Content-Type': type } : {}) },
      body: body === undefined ? undefined : Buffer.from(body),
    });
  const json = (res: { body: Buffer }) => JSON.parse(res.body.toString('utf8'));
  const counts = async () => {
    const [e, o, a] = await Promise.all([
      app.db('exports').count({ n: '*' }),
      app.db('objects').count({ n: '*' }),
      app.db('assets').count({ n: '*' }),
    ]);
    return [e[0].n, o[0].n, a[0].n].map(Number);
  };

  describe('the login of an unauthenticated authenticate call (finding 8)', () => {
    for (const [how, call] of [
      ['query', () => raw('POST', `/api/v1/session/authenticate?token=${anonymous}&login=a%00b&password=x`, undefined)],
      ['JSON body', () => raw('POST', `/api/v1/session/authenticate?token=${anonymous}`, '{"login": "a\\u0000b", "password": "x"}')],
      ['JSON body, lone surrogate', () => raw('POST', `/api/v1/session/authenticate?token=${anonymous}`, '{"login": "\\udfff", "password": "x"}')],
      ['form body', () => raw('POST', `/api/v1/session/authenticate?token=${anonymous}`, 'login=a%00b&password=x', 'application/x-www-form-urlencoded')],
      ['token', () => raw('POST', '/api/v1/session/authenticate?token=a%00&login=a&password=x', undefined)],
    ] as const) {
      it(`NUL or a lone surrogate in the ${how} is a 400 naming it`, async () => {
        const res = await call();
        expectSpecError(res, how);
        expect(res.status).to.equal(400);
        expect(json(res).code).to.equal('error.api.invalid_value');
        expect(json(res).parameters.path).to.be.oneOf(['login', 'token']);
      });
    }

    it('a form body is still accepted there (R-AUTH-2)', async () => {
      const res = await raw('POST', `/api/v1/session/authenticate?token=${anonymous}`, 'login=nobody&password=x', 'application/x-www-form-urlencoded');
      expect(json(res).code).to.equal('error.user.login_failed');
    });
  });

  it('an asset upload whose filename query has a NUL is a 400 naming filename; nothing stored', async () => {
    const before = await counts();
    const res = await raw('POST', '/api/v1/eas/put?filename=a%00b.txt', 'hello', 'application/octet-stream');
    expectSpecError(res, 'filename');
    expect(res.status).to.equal(400);
    expect(json(res).parameters.path).to.equal('filename');
    expect(await counts()).to.deep.equal(before);
  });

  describe('an _id range beyond the integers of its column (finding 8)', () => {
    for (const [field, bound] of [
      ['_id', '1e21'],
      ['_id', '-1e21'],
      ['_id', '1e20'],
      ['_id', '9007199254740993'],
      ['_version', '3000000000'],
    ]) {
      it(`${field} from ${bound} is a 400 naming the bound`, async () => {
        const res = await raw('POST', '/api/v1/search', `{"search": [{"type": "range", "field": "${field}", "from": ${bound}}]}`);
        expectSpecError(res, bound);
        expect(res.status).to.equal(400);
        expect(json(res)).to.include({ code: 'error.api.invalid_value' });
        expect(json(res).parameters.path).to.equal('search.search[0].from');
      });
    }

    it('an exported search with such a bound is refused on save as well', async () => {
      const res = await raw('PUT', '/api/v1/export', '{"export": {"search": {"search": [{"type": "range", "field": "_id", "to": 1e21}]}}}');
      expect(res.status).to.equal(400);
      expect(json(res).parameters.path).to.equal('export.search.search[0].to');
    });
  });

  describe('an invalid webhook URL or S3 endpoint (finding 8)', () => {
    for (const url of ['http://[', 'http://a b', 'https://', 'http://x:99999', 'http://%zz']) {
      it(`${url} is a 400 naming the transport's options, nothing created`, async () => {
        const before = await counts();
        for (const t of [
          { type: 'webhook', options: { url } },
          { type: 's3', options: { bucket: 'bucket', endpoint: url, access_key_id: 'a', secret_access_key: 's' } },
        ]) {
          const res = await raw('PUT', '/api/v1/export', JSON.stringify({ export: {}, _transports: [t] }));
          expectSpecError(res, `${t.type} ${url}`);
          expect(res.status).to.equal(400);
          expect(json(res).parameters.path).to.match(/^_transports\[0\]\.options/);
        }
        expect(await counts()).to.deep.equal(before);
      });
    }
  });

  describe('bodies', () => {
    for (const [route, method] of [
      ['/api/v1/export', 'PUT'],
      ['/api/v1/db/photo', 'PUT'],
      ['/api/v1/search', 'POST'],
    ] as const) {
      it(`${method} ${route}: a body not declared as JSON is 415`, async () => {
        const before = await counts();
        for (const type of [null, 'text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
          const res = await raw(method, route, '{}', type);
          expectSpecError(res, String(type));
          expect(res.status, String(type)).to.equal(415);
          expect(json(res).description).to.match(type ? /not accepted; send application\/json/ : /no Content-Type/);
        }
        expect(await counts()).to.deep.equal(before);
      });

      it(`${method} ${route}: invalid UTF-8 is 400 invalid_content, deep nesting a clear 400`, async () => {
        const before = await counts();
        const bad = Buffer.concat([Buffer.from('[{"_objecttype":"photo","photo":{"t":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}]')]);
        const res = await raw(method, route, bad);
        expect(res.status).to.equal(400);
        expect(json(res)).to.include({ code: 'error.api.invalid_content', description: 'The body is not valid UTF-8' });
        for (const deep of ['['.repeat(100_000) + ']'.repeat(100_000), `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`]) {
          const d = await raw(method, route, deep);
          expectSpecError(d, 'deep');
          expect(d.status).to.equal(400);
        }
        expect(await counts()).to.deep.equal(before);
      });
    }

    it('a 1 MiB string is stored as an object field, and refused (413) where the body limit is 1 MiB', async () => {
      const big = 'x'.repeat(1 << 20);
      const ok = await raw('PUT', '/api/v1/db/note', JSON.stringify([{ _objecttype: 'note', note: { text: big } }]));
      expect(ok.status).to.equal(200);
      const res = await raw('PUT', '/api/v1/export', JSON.stringify({ export: { name: big } }));
      expect(res.status).to.equal(413);
      expectSpecError(res, '1 MiB name');
    });
  });

  describe('__proto__ keys', () => {
    it('in an export body: reserved, naming the attribute; nothing is created', async () => {
      const before = await counts();
      const top = await raw('PUT', '/api/v1/export', '{"export": {"name": "x"}, "__proto__": {"a": 1}}');
      expect(json(top)).to.deep.include({ code: 'error.api.invalid_value', parameters: { path: '__proto__' } });
      const inner = await raw('PUT', '/api/v1/export', '{"export": {"__proto__": {"name": "x"}}}');
      expect(json(inner)).to.deep.include({ code: 'error.api.invalid_value', parameters: { path: 'export.__proto__' } });
      expect(json(inner).description).to.match(/reserved/);
      expect(await counts()).to.deep.equal(before);
    });

    it('as a field name of `fields` or of an object: refused, never silently dropped', async () => {
      const before = await counts();
      const fields = await raw('PUT', '/api/v1/export', '{"export": {"fields": {"__proto__": {}, "photo.title": {}}}}');
      expect(fields.status).to.equal(400);
      expect(json(fields).parameters.path).to.equal('export.fields.__proto__');
      const object = await raw('PUT', '/api/v1/db/photo', '[{"_objecttype": "photo", "photo": {"__proto__": {"x": 1}, "title": "t"}}]');
      expect(object.status).to.equal(400);
      expect(json(object).parameters.path).to.equal('[0].photo.__proto__');
      expect(await counts()).to.deep.equal(before);
    });
  });

  describe('messages say what is wrong', () => {
    it('a missing token, an unknown token and an anonymous session are told apart', async () => {
      const missing = json(await send(app.server, { method: 'GET', path: '/api/v1/export', headers: {} }));
      const unknown = json(await send(app.server, { method: 'GET', path: '/api/v1/export?token=nope', headers: {} }));
      const anon = json(await send(app.server, { method: 'GET', path: `/api/v1/export?token=${anonymous}`, headers: {} }));
      for (const b of [missing, unknown, anon]) expect(b.code).to.equal('error.user.not_authenticated');
      expect(missing.parameters.reason).to.equal('token_missing');
      expect(unknown.parameters.reason).to.equal('session_not_found');
      expect(anon.parameters.reason).to.equal('not_logged_in');
      expect(new Set([missing.description, unknown.description, anon.description]).size).to.equal(3);
    });

    it('a type mismatch names the accepted types', async () => {
      const csv = json(await raw('PUT', '/api/v1/export', '{"export": {"csv": "yes"}}'));
      expect(csv).to.include({ code: 'error.api.type_mismatch' });
      expect(csv.description).to.match(/boolean/).and.to.match(/object/);
      const name = json(await raw('PUT', '/api/v1/export', '{"export": {"name": 5}}'));
      expect(name).to.include({ code: 'error.api.type_mismatch' });
      expect(name.description).to.match(/expected string/);
    });

    it('a method a route lacks is a JSON 405 listing the allowed ones, an unknown method too', async () => {
      const patch = await raw('PATCH', '/api/v1/export', undefined);
      expectSpecError(patch, 'PATCH');
      expect(patch.status).to.equal(405);
      expect(json(patch).parameters.allowed).to.include('GET');
      const propfind = await raw('PROPFIND', '/api/v1/export', undefined);
      expectSpecError(propfind, 'PROPFIND');
      expect(propfind.status).to.equal(405);
    });
  });
});
