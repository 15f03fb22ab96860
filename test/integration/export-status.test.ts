import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { MAX_WAITS_PER_USER } from '../../server/domain/exports/status-watch.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

/** Issue 13 item 4: `GET …/export/<id>/status` and its long-poll (`?wait=<_changed>&timeout=`). */
describe('API for the web page: export status and its long-poll', function () {
  this.timeout(90_000);
  let app: TestApp;
  let token: string;
  let otherToken: string;

  const status = (id: number, query: Record<string, string | number> = {}, t = token, prefix = '/api/v1') =>
    app.request.get(`${prefix}/export/${id}/status`).query({ token: t, ...query });
  /** A scheduled export stays `new` until a run is started by hand (no worker runs in this file). */
  const scheduled = async (name: string, t = token) =>
    (
      await app.request
        .put('/api/v1/export')
        .query({ token: t })
        .send({ export: { name }, _schedules: [{ weekdays: ['sunday'], hours: [3] }] })
        .expect(200)
    ).body.export._id as number;
  /** A wait sent over its own connection, which the test can drop like a closed browser tab. */
  const rawWait = (id: number, changed: string, timeout = 30) => {
    const { port } = app.server.address() as AddressInfo;
    const path = `/api/v1/export/${id}/status?token=${token}&wait=${changed}&timeout=${timeout}`;
    const req = http.get({ host: '127.0.0.1', port, path, agent: false });
    const answered = new Promise<number>((resolve) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(-1));
    });
    return { req, answered };
  };
  const pool = () => (app.db.client as { pool: { numUsed(): number } }).pool;

  before(async () => {
    app = await startTestApp();
    token = (await app.login('follower')).token;
    otherToken = (await app.login('follower-other')).token;
  });
  afterEach(() => app.statusWatch.releaseAll());
  after(async () => app?.close());

  it('shows the state fields of the export GET and an opaque _changed', async () => {
    const id = await scheduled('shown');
    const body = (await status(id).expect(200)).body;
    const full = (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body;
    const { _changed, ...fields } = body;
    expect(_changed).to.be.a('string').and.not.equal('');
    expect(fields).to.deep.equal({
      _id: id,
      _version: full.export._version,
      _state: 'new',
      _progress: null,
      _failure_reason: null,
      _last_run: null,
      _next_run: full._next_run,
      _expires_at: null,
    });
    expect((await status(id, {}, token, '/api/v1/v1').expect(200)).body).to.deep.equal(body);
  });

  it('answers a wait at once when the client is behind, and early when the export changes (a run is started)', async () => {
    const id = await scheduled('started');
    const before = (await status(id).expect(200)).body;
    expect((await status(id, { wait: 'stale' }).expect(200)).body).to.deep.equal(before);
    const started = Date.now();
    const waiting = status(id, { wait: before._changed, timeout: 30 }).then((r) => r);
    await eventually(async () => app.statusWatch.pending().waits === 1);
    // While it waits, the request holds no database connection (the shared check takes one for a moment).
    await eventually(async () => pool().numUsed() === 0 && app.statusWatch.pending().waits === 1, 5000, 5);
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    const res = await waiting;
    expect(res.status).to.equal(200);
    expect(res.headers['cache-control']).to.equal('no-store');
    expect(res.body._state).to.equal('pending');
    expect(res.body._last_run).to.include({ trigger: 'start', state: 'pending' });
    expect(res.body._changed).to.not.equal(before._changed);
    expect(Date.now() - started, 'answered before the timeout').to.be.below(25_000);
    expect(app.statusWatch.pending()).to.deep.equal({ waits: 0, users: 0, polling: false });
  });

  it('answers an unchanged status at the timeout', async () => {
    const id = await scheduled('quiet');
    const now = (await status(id).expect(200)).body;
    const started = Date.now();
    const res = await status(id, { wait: now._changed, timeout: 1 }).expect(200);
    expect(res.body).to.deep.equal(now);
    expect(Date.now() - started, 'waited for the timeout').to.be.at.least(900);
    expect(app.statusWatch.pending().waits).to.equal(0);
  });

  it('releases the wait of a client that goes away at once, leaving nothing pending', async () => {
    const id = await scheduled('abandoned');
    const now = (await status(id).expect(200)).body;
    const { req, answered } = rawWait(id, now._changed);
    await eventually(async () => app.statusWatch.pending().waits === 1);
    expect(app.statusWatch.pending()).to.deep.equal({ waits: 1, users: 1, polling: true });
    req.destroy();
    expect(await answered).to.equal(-1);
    await eventually(async () => app.statusWatch.pending().waits === 0, 5000, 20);
    expect(app.statusWatch.pending()).to.deep.equal({ waits: 0, users: 0, polling: false });
  });

  it(`bounds the waits of one user to ${MAX_WAITS_PER_USER} (429 with Retry-After), freed when they end`, async () => {
    const id = await scheduled('crowded');
    const now = (await status(id).expect(200)).body;
    const held = Array.from({ length: MAX_WAITS_PER_USER }, () => rawWait(id, now._changed));
    await eventually(async () => app.statusWatch.pending().waits === MAX_WAITS_PER_USER);
    const refused = await status(id, { wait: now._changed }).expect(429);
    expect(refused.body).to.deep.include({ code: 'error.user.too_many_waits' });
    expect(refused.headers['retry-after']).to.equal('2');
    // Another user is not affected, and a read without wait never is.
    const other = await scheduled('other-user-export', otherToken);
    const theirs = (await status(other, {}, otherToken).expect(200)).body;
    expect((await status(other, { wait: theirs._changed, timeout: 1 }, otherToken).expect(200)).body).to.deep.equal(
      theirs,
    );
    await status(id).expect(200);
    for (const h of held) h.req.destroy();
    await eventually(async () => app.statusWatch.pending().waits === 0);
    await status(id, { wait: now._changed, timeout: 1 }).expect(200);
  });

  it('answers 404 when the awaited export is deleted', async () => {
    const id = await scheduled('deleted');
    const now = (await status(id).expect(200)).body;
    const waiting = status(id, { wait: now._changed, timeout: 30 }).then((r) => r);
    await eventually(async () => app.statusWatch.pending().waits === 1);
    await app.request.delete(`/api/v1/export/${id}`).query({ token }).expect(200);
    const res = await waiting;
    expect(res.status).to.equal(404);
    expect(res.body).to.deep.include({ code: 'error.user.not_found', parameters: { type: 'export', id } });
  });

  it("answers another user's export with 404 and bad parameters with 400", async () => {
    const id = await scheduled('private');
    const now = (await status(id).expect(200)).body;
    const foreign = await status(id, { wait: now._changed }, otherToken).expect(404);
    expect(foreign.body).to.include({ code: 'error.user.not_found' });
    for (const timeout of [0, 31, 'soon', '2.5']) {
      const res = await status(id, { wait: now._changed, timeout }).expect(400);
      expect(res.body.parameters.path).to.equal('timeout');
    }
    const long = await status(id, { wait: 'x'.repeat(101) }).expect(400);
    expect(long.body.parameters.path).to.equal('wait');
  });

  // Last in this file: close() is what the shutdown does, and it stays closed.
  it('after the shutdown began (close), a wait is answered at once and a held one is released', async () => {
    const id = await scheduled('closing');
    const now = (await status(id).expect(200)).body;
    const held = status(id, { wait: now._changed, timeout: 30 }).then((r) => r);
    await eventually(async () => app.statusWatch.pending().waits === 1);
    app.statusWatch.close();
    expect((await held).body).to.deep.equal(now);
    const started = Date.now();
    expect((await status(id, { wait: now._changed, timeout: 30 }).expect(200)).body).to.deep.equal(now);
    expect(Date.now() - started).to.be.below(10_000);
    expect(app.statusWatch.pending().waits).to.equal(0);
  });
});
