import type http from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { FileProducer } from '../helpers/file-producer.js';
import { rememberSecret } from '../helpers/log-capture.js';

const binary = (res: unknown, cb: (err: Error | null, body: Buffer) => void) => {
  const parts: Buffer[] = [];
  (res as http.IncomingMessage).on('data', (c: Buffer) => parts.push(c));
  (res as http.IncomingMessage).on('end', () => cb(null, Buffer.concat(parts)));
};

type Line = Record<string, unknown> & { msg: string; level: number };

describe('access log and log fields (issue 12)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let token: string;
  let userId: number;
  let worker: Worker;
  let exportId: number;
  let passkey: string;
  const SFTP_PASSWORD = 'sftp-Log-Secret-77-abc';
  const LOGIN_PASSWORD = 'log-login-Password-42';
  const lines: Line[] = [];
  let raw = '';
  const capture = new Writable({
    write(chunk, _enc, cb) {
      raw += chunk.toString();
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  const producer = new FileProducer();
  const requestLines = () => lines.filter((l) => l.msg === 'request');
  const lineOf = (requestId: string) => eventually(async () => requestLines().find((l) => l.req_id === requestId), 5000, 10);

  before(async () => {
    const probe = createTcpServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    app = await startTestApp({
      producers: [producer],
      env: { LOG_LEVEL: 'debug', TRANSPORT_ALLOW_HOSTS: '127.0.0.1' },
      compose: { deliveryRetryBaseMs: 10 },
      logDestination: capture,
    });
    ({ token, userId } = await app.login('logger', LOGIN_PASSWORD));
    producer.plans.set('Logged', [{ path: 'data/a.bin', data: Buffer.alloc(12_345, 1) }]);
    const transports = [
      { type: 'download', packer: 'zip' },
      { type: 'sftp', options: { host: '127.0.0.1', port: closedPort, username: 'alice', password: SFTP_PASSWORD, path: '/up' } },
    ];
    const body = { export: { name: 'Logged', type: 'export' }, _transports: transports };
    exportId = (await app.request.put('/api/v1/export').query({ token }).send(body).expect(200)).body.export._id;
    worker = app.createWorker();
    worker.start();
    await eventually(async () => {
      const e = (await app.request.get(`/api/v1/export/${exportId}`).query({ token }).expect(200)).body;
      return e._state === 'done' && e._transports.every((t: { _state: string }) => t._state !== 'pending' && t._state !== 'processing');
    }, 30_000);
    passkey = (await app.db('exports').where({ id: exportId }).first()).passkey;
    for (const s of [SFTP_PASSWORD, LOGIN_PASSWORD, token, passkey]) rememberSecret(s);
  });
  after(async () => {
    await worker?.stop();
    await app?.close();
  });

  it('one info line per request: method, route pattern, status, bytes, duration, request id, user id', async () => {
    const res = await app.request
      .get(`/api/v1/export/${exportId}/file/data/a.bin`)
      .query({ token })
      .set('X-Request-Id', 'trace-abc.123')
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(res.headers['x-request-id']).to.equal('trace-abc.123');
    const line = await lineOf('trace-abc.123');
    expect(line).to.include({ level: 30, method: 'GET', route: '/api/v1/export/:id/file/{*path}', status: 200, bytes: 12_345, user_id: userId });
    expect(line.ms).to.be.a('number').and.at.least(0);
    expect(requestLines().filter((l) => l.req_id === 'trace-abc.123')).to.have.length(1);
  });

  it('a request id is generated when none (or an unusable one) comes in, echoed, and logged; no user id without a session', async () => {
    const plain = await app.request.get('/healthz').expect(200);
    const id = plain.headers['x-request-id'];
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    const line = await lineOf(id);
    expect(line).to.include({ method: 'GET', route: '/healthz', status: 200 });
    expect(line).not.to.have.property('user_id');
    const odd = await app.request.get('/healthz').set('X-Request-Id', 'has spaces and {braces}').expect(200);
    expect(odd.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    await lineOf(odd.headers['x-request-id']);
    const unknown = await app.request.get('/no/such/thing').expect(404);
    expect(await lineOf(unknown.headers['x-request-id'])).to.include({ route: '(unmatched)', status: 404 });
  });

  it('no token, passkey, password or transport secret appears in any line, however it was sent', async () => {
    await app.request.get(`/api/v1/export/${exportId}`).set('X-Export-Token', token).expect(200);
    await app.request.get(`/api/v1/export/${exportId}`).set('Authorization', `Bearer ${token}`).expect(200);
    await app.request.get(`/api/v1/export/${exportId}`).query({ token }).expect(200);
    await app.request.get('/api/v1/export/999999').query({ token: `${token}x` }).expect(403);
    const dl = await app.request.get(`/api/v1/export/${exportId}/download/${passkey}/Logged.zip`).buffer(true).parse(binary).expect(200);
    const dlLine = await lineOf(dl.headers['x-request-id']);
    expect(dlLine).to.include({ route: '/api/v1/export/:id/download/{*rest}', path: `/api/v1/export/${exportId}/download/***/Logged.zip`, bytes: (dl.body as Buffer).length });
    // A wrong password, in the query as the SPEC has it.
    const s = await app.request.get('/api/v1/session').expect(200);
    await app.request.post('/api/v1/session/authenticate').query({ token: s.body.token, login: 'logger', password: 'Wrong-Password-999' });
    await lineOf((await app.request.get('/healthz')).headers['x-request-id']);
    for (const secret of [token, passkey, LOGIN_PASSWORD, 'Wrong-Password-999', SFTP_PASSWORD, s.body.token]) {
      expect(raw.includes(secret), `a secret in the log: ${secret}`).to.equal(false);
    }
  });

  it('run and delivery lines carry export id, run id and attempt', async () => {
    const published = lines.find((l) => l.msg === 'run published');
    expect(published).to.include({ export_id: exportId, attempt: 1 });
    expect(published?.run_id).to.be.a('number');
    const attempts = lines.filter((l) => l.msg === 'transport attempt failed');
    expect(attempts.length).to.be.at.least(1);
    for (const l of attempts) {
      expect(l).to.include({ export_id: exportId, run_id: published?.run_id, type: 'sftp' });
      expect(l.attempt).to.be.a('number');
    }
    const failed = await eventually(async () => lines.find((l) => l.msg === 'delivery failed'), 10_000);
    expect(failed).to.include({ export_id: exportId, run_id: published?.run_id, attempt: 3 });
    const delivered = lines.find((l) => l.msg === 'transport delivered');
    expect(delivered).to.include({ export_id: exportId, run_id: published?.run_id, type: 'download', attempt: 1 });
  });
});
