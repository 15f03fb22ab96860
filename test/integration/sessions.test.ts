import { expect } from 'chai';
import { createUser } from '../../server/domain/users/users-repo.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

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
    expect(r.body.token).to.match(/^[0-9A-Za-z]{40}$/);
  });

  it('R-AUTH-4 stores tokens only as hashes', async () => {
    const { token } = await app.login('hashed');
    const r = { body: { token } };
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

  it('unauthenticated sessions store nothing: 50 anonymous GETs add no row, the tokens still work', async () => {
    const before = Number((await app.db('sessions').count({ n: '*' }))[0].n);
    const tokens: string[] = [];
    for (let i = 0; i < 50; i++) tokens.push((await app.request.get('/api/v1/session').expect(200)).body.token);
    expect(new Set(tokens).size).to.equal(50);
    expect(Number((await app.db('sessions').count({ n: '*' }))[0].n)).to.equal(before);
    const again = await app.request.get('/api/v1/session').query({ token: tokens[7] }).expect(200);
    expect(again.body).to.deep.equal({ token: tokens[7], authenticated: false, authentication_methods: ['password'] });
    await app.request.post('/api/v1/session/deauthenticate').query({ token: tokens[8] }).expect(200);
    // A token we did not sign (one character changed) is unknown.
    const t = tokens[9]!;
    const forged = t.slice(0, 3) + (t[3] === 'a' ? 'b' : 'a') + t.slice(4);
    const r = await app.request.get('/api/v1/session').query({ token: forged }).expect(400);
    expect(r.body.code).to.equal('error.user.session_not_found');
    // Authenticating stores the session; it then survives a logout as a stored, unauthenticated session.
    await createUser(app.db, { login: 'ivy', password: 'ivy-pw' });
    await app.request.post('/api/v1/session/authenticate').query({ token: t, login: 'ivy', password: 'ivy-pw' }).expect(200);
    expect(Number((await app.db('sessions').count({ n: '*' }))[0].n)).to.equal(before + 1);
    await app.request.get('/api/v1/export').query({ token: t }).expect(200);
    await app.request.post('/api/v1/session/deauthenticate').query({ token: t }).expect(200);
    await app.request.get('/api/v1/export').query({ token: t }).expect(403);
    await app.request.post('/api/v1/session/authenticate').query({ token: t, login: 'ivy', password: 'ivy-pw' }).expect(200);
    await app.request.get('/api/v1/export').query({ token: t }).expect(200);
  });

  it('a burst of 40 parallel logins is cut at the throttle limit; a right password after the limit is refused', async () => {
    await createUser(app.db, { login: 'burst', password: 'right-one' });
    const token = (await app.request.get('/api/v1/session')).body.token;
    // `.then` sends at once (a supertest request is lazy until then).
    const attempt = (password: string) =>
      app.request
        .post('/api/v1/session/authenticate')
        .query({ token, login: 'burst', password })
        .then((r) => r);
    const wrong = Array.from({ length: 39 }, (_, i) => attempt(`wrong-${i}`));
    // The right password goes out once the limit is reached, while most wrong ones are still in flight.
    await eventually(async () => ((await app.db('throttle').where({ key: 'login:burst' }).first())?.failures ?? 0) >= 6, 20_000, 5);
    const right = attempt('right-one');
    const answers = await Promise.all([...wrong, right]);
    const checked = answers.filter((a) => a.status !== 429);
    // 5 free attempts and the 6th that sets the first block reach the password check; nothing else does.
    expect(checked.length, answers.map((a) => a.status).join(',')).to.be.at.most(6);
    expect(checked.every((a) => a.status === 400)).to.equal(true);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).to.be.at.least(34);
    expect(refused.every((a) => a.body.code === 'error.user.too_many_attempts' && Number(a.headers['retry-after']) > 0)).to.equal(true);
    expect((await right).status).to.equal(429);
    const s = await app.request.get('/api/v1/session').query({ token }).expect(200);
    expect(s.body.authenticated).to.equal(false);
    await app.db('throttle').delete();
  });

  it('a right password gives back its attempt: 25 logins from one address are never throttled', async () => {
    await createUser(app.db, { login: 'often', password: 'pw' });
    for (let i = 0; i < 25; i++) {
      const token = (await app.request.get('/api/v1/session')).body.token;
      await app.request.post('/api/v1/session/authenticate').query({ token, login: 'often', password: 'pw' }).expect(200);
    }
    await app.db('throttle').delete();
  });

  it('housekeeping purges expired sessions and forgotten throttle rows', async () => {
    const { token } = await app.login('old-timer');
    await app.db('sessions').update({ last_seen_at: new Date(Date.now() - 25 * 3600_000) });
    await app.db('throttle').insert({ key: 'login:gone', failures: 3, updated_at: new Date(Date.now() - 2 * 3600_000) });
    await app.db('throttle').insert({ key: 'login:recent', failures: 3 });
    await app.createWorker().sweep();
    expect(Number((await app.db('sessions').count({ n: '*' }))[0].n)).to.equal(0);
    const keys = (await app.db('throttle').select('key')).map((r) => r.key);
    expect(keys).to.include('login:recent').and.not.include('login:gone');
    // (The token itself was issued seconds ago, so it reads as a fresh unauthenticated session now.)
    await app.request.get('/api/v1/export').query({ token }).expect(403);
    await app.db('throttle').delete();
  });

  it('R-AUTH-5 stores scrypt hashes with a per-user salt', async () => {
    await app.login('gina', 'same');
    await app.login('hank', 'same');
    const rows = await app.db('users').whereIn('login', ['gina', 'hank']).select('password_hash');
    expect(rows[0].password_hash).to.match(/^scrypt\$/);
    expect(rows[0].password_hash).not.to.equal(rows[1].password_hash);
  });
});
