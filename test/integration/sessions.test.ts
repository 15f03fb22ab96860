import { expect } from 'chai';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe('sessions (R-AUTH)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => app.close());

  it('R-AUTH-1 creates an unauthenticated session with a long token', async () => {
    const r = await app.request.get('/api/v1/session').expect(200);
    expect(r.body.authenticated).to.equal(false);
    expect(r.body.authentication_methods).to.deep.equal(['password']);
    expect(r.body.token).to.match(/^[0-9A-Za-z]{32}$/);
  });

  it('R-AUTH-4 stores tokens only as hashes', async () => {
    const r = await app.request.get('/api/v1/session').expect(200);
    const rows = await app.db('sessions').select('token_hash');
    expect(rows.map((x) => x.token_hash)).not.to.include(r.body.token);
    expect(rows.every((x) => /^[0-9a-f]{64}$/.test(x.token_hash))).to.equal(true);
  });

  it('R-AUTH-2 authenticates with query, form or JSON credentials and returns the user', async () => {
    await app.login('alice', 'secret-a');
    for (const style of ['query', 'form', 'json'] as const) {
      const { body } = await app.request.get('/api/v1/session').expect(200);
      let req = app.request.post('/api/v1/session/authenticate');
      if (style === 'query') req = req.query({ token: body.token, login: 'alice', password: 'secret-a' });
      if (style === 'form') req = req.type('form').send({ token: body.token, login: 'alice', password: 'secret-a' });
      if (style === 'json') req = req.query({ token: body.token }).send({ login: 'alice', password: 'secret-a' });
      const r = await req.expect(200);
      expect(r.body.authenticated, style).to.equal(true);
      expect(r.body.user).to.include({ login: 'alice' });
      expect(r.body.user).to.have.keys('_id', 'login', 'name', 'email');
    }
  });

  it('R-AUTH-2 answers an unknown login exactly like a wrong password', async () => {
    await app.login('bob', 'right');
    const s = (await app.request.get('/api/v1/session')).body.token;
    const wrong = await app.request.post('/api/v1/session/authenticate').query({ token: s, login: 'bob', password: 'nope' });
    const unknown = await app.request.post('/api/v1/session/authenticate').query({ token: s, login: 'nobody', password: 'nope' });
    expect(wrong.status).to.equal(400);
    expect(unknown.status).to.equal(400);
    expect(wrong.body).to.deep.equal(unknown.body);
    expect(wrong.body.code).to.equal('error.user.login_failed');
  });

  it('R-AUTH-2 throttles repeated failures with 429 and a growing back-off', async () => {
    await app.login('carol', 'right');
    const s = (await app.request.get('/api/v1/session')).body.token;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await app.request.post('/api/v1/session/authenticate').query({ token: s, login: 'carol', password: `bad${i}` });
      statuses.push(r.status);
    }
    expect(statuses.slice(0, 5)).to.deep.equal([400, 400, 400, 400, 400]);
    expect(statuses[6]).to.equal(429);
    const blocked = await app.request.post('/api/v1/session/authenticate').query({ token: s, login: 'carol', password: 'right' });
    expect(blocked.status).to.equal(429);
    expect(blocked.body.code).to.equal('error.user.too_many_attempts');
    expect(Number(blocked.headers['retry-after'])).to.be.greaterThan(0);
    const row = await app.db('throttle').where({ key: 'login:carol' }).first();
    expect(row.failures).to.be.at.least(6);
    await app.db('throttle').delete();
  });

  it('R-AUTH-3 returns and ends a session; unknown tokens are session_not_found', async () => {
    const { token } = await app.login('dave');
    const got = await app.request.get('/api/v1/session').query({ token }).expect(200);
    expect(got.body.authenticated).to.equal(true);
    await app.request.post('/api/v1/session/deauthenticate').query({ token }).expect(200);
    const after = await app.request.get('/api/v1/session').query({ token }).expect(200);
    expect(after.body.authenticated).to.equal(false);
    const r = await app.request.get('/api/v1/session').query({ token: 'x'.repeat(32) }).expect(400);
    expect(r.body.code).to.equal('error.user.session_not_found');
    await app.request.get('/api/v1/export').query({ token }).expect(403);
  });

  it('R-AUTH-4 accepts the token as query, X-Export-Token or Bearer', async () => {
    const { token } = await app.login('erin');
    await app.request.get('/api/v1/export').query({ token }).expect(200);
    await app.request.get('/api/v1/export').set('X-Export-Token', token).expect(200);
    await app.request.get('/api/v1/export').set('Authorization', `Bearer ${token}`).expect(200);
    const r = await app.request.get('/api/v1/export').expect(403);
    expect(r.body.code).to.equal('error.user.not_authenticated');
  });

  it('R-AUTH-4 expires sessions after SESSION_TTL idle', async () => {
    const { token } = await app.login('frank');
    await app.db('sessions').update({ last_seen_at: new Date(Date.now() - 25 * 3600_000) });
    const r = await app.request.get('/api/v1/session').query({ token }).expect(400);
    expect(r.body.code).to.equal('error.user.session_not_found');
  });

  it('R-AUTH-5 stores scrypt hashes with a per-user salt', async () => {
    await app.login('gina', 'same');
    await app.login('hank', 'same');
    const rows = await app.db('users').whereIn('login', ['gina', 'hank']).select('password_hash');
    expect(rows[0].password_hash).to.match(/^scrypt\$/);
    expect(rows[0].password_hash).not.to.equal(rows[1].password_hash);
  });
});
