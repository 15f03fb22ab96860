import { createHmac } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { isExpired } from '../../server/domain/runs/expiry.js';
import { createMailQuota, purgeMailSends } from '../../server/domain/transports/mail-quota.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { decryptSecret, parseSecretKey } from '../../server/infra/secrets/secret-box.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { GateProducer } from '../helpers/producers.js';
import { type S3TestServer, startS3Server } from './transports/servers/s3-server.js';
import { type SftpTestServer, startSftpServer } from './transports/servers/sftp-server.js';
import { rememberSecret } from '../helpers/log-capture.js';
import { type MailCatcher, startMailCatcher } from '../helpers/mail-catcher.js';

const PASSWORD = 'sftp-Secret-9f3-XYZ';
rememberSecret(PASSWORD);
const HOOK_SECRET = 'hook-Secret-77-abc';

/** R-TR end to end: API → run → delivery runner → real servers on loopback (the transport tests' servers). */
describe('transports end to end (R-TR)', () => {
  let app: TestApp;
  let token: string;
  let userId: number;
  let sftp: SftpTestServer;
  let s3: S3TestServer;
  let smtp: MailCatcher;
  let hook: Server;
  let hookUrl: string;
  let hold = false;
  const held: ServerResponse[] = [];
  const hookBodies: { body: string; signature: string; url: string }[] = [];
  let mails: string[] = [];
  const logLines: string[] = [];
  const dirs: string[] = [];
  let sftpRoot: string;
  let outRoot: string;
  /** A server of "the attacker": speaks just enough FTP to be sent USER and PASS, and records the password. */
  let trap: TcpServer;
  let trapPort: number;
  const trapped: string[] = [];
  const gate = new GateProducer();
  let worker: Worker;

  const put = async (body: Record<string, unknown>) =>
    (await app.request.put('/api/v1/export').query({ token }).send(body).expect(200)).body;
  const get = async (id: number) => (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body;
  const transportState = (id: number, i: number, state: string) => async () => {
    const e = await get(id);
    return e._transports[i]._state === state ? e : null;
  };
  const sftpOptions = (extra: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port: sftp.port,
    username: 'alice',
    password: PASSWORD,
    path: '/upload',
    ...extra,
  });
  /** A loopback port nothing listens on. */
  const closedPort = async () => {
    const probe = createTcpServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));
    return port;
  };
  const tmp = async (prefix: string) => {
    const d = await mkdtemp(path.join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };

  before(async () => {
    sftpRoot = await tmp('e2e-sftp-');
    outRoot = await tmp('e2e-dir-');
    sftp = await startSftpServer({ root: sftpRoot, username: 'alice', password: PASSWORD });
    s3 = await startS3Server(await tmp('e2e-s3-'), 'exports');
    smtp = await startMailCatcher();
    mails = smtp.mails;
    hook = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hookBodies.push({ body: Buffer.concat(chunks).toString(), signature: String(req.headers['x-export-signature']), url: String(req.url) });
        if (hold) held.push(res);
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    trap = createTcpServer((socket) => {
      socket.on('error', () => {});
      socket.write('220 ready\r\n');
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString();
        for (let i = buffered.indexOf('\r\n'); i >= 0; i = buffered.indexOf('\r\n')) {
          const line = buffered.slice(0, i);
          buffered = buffered.slice(i + 2);
          if (/^USER /i.test(line)) socket.write('331 password please\r\n');
          else if (/^PASS /i.test(line)) {
            trapped.push(line.slice(5));
            socket.end('530 no\r\n');
          } else socket.write('502 no\r\n');
        }
      });
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapPort = (trap.address() as { port: number }).port;
    hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    const capture = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    app = await startTestApp({
      producers: [gate],
      env: {
        TRANSPORT_ALLOW_HOSTS: '127.0.0.1',
        TRANSPORT_DIRECTORY_ROOTS: outRoot,
        SMTP_URL: smtp.url,
        LOG_LEVEL: 'debug',
        PUBLIC_URL: 'https://exports.example',
        DELIVERY_CONCURRENCY: '3',
        DELIVERY_CONCURRENCY_PER_OWNER: '2',
        MAIL_MAX_RECIPIENTS: '3',
        MAIL_MAX_PER_DAY: '3',
      },
      compose: { deliveryRetryDelaysMs: [20, 20], transportDeps: { timeoutMs: 3000 } },
      logDestination: capture,
    });
    ({ token, userId } = await app.login('shipper'));
    gate.releaseAll();
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 100_000 });
    worker.start();
  });
  after(async () => {
    await worker.stop();
    await app.deliveries.stop();
    for (const r of held) r.destroy();
    await app.close();
    await sftp.close();
    await s3.close();
    await smtp.close();
    await new Promise<void>((r) => trap.close(() => r()));
    hook.closeAllConnections();
    await new Promise<void>((r) => hook.close(() => r()));
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('R-TR-4 secrets are sealed at rest, shown as "***", and kept when an update sends "***" back', async () => {
    const created = await put({ export: { name: 'secret keeper' }, _schedules: [{ cron: '0 3 * * *' }], _transports: [{ type: 'sftp', options: sftpOptions() }] });
    expect(created._transports[0].options.password).to.equal('***');
    expect(JSON.stringify(created)).not.to.include(PASSWORD);
    const id = created.export._id;
    const key = parseSecretKey((await readFile(path.join(app.dataDir, 'secret.key'), 'utf8')).trim());
    const stored = async () => (await app.db('exports').where({ id }).first()).transports[0].options.password as string;
    const sealed = await stored();
    expect(sealed).to.match(/^v1:/);
    expect(decryptSecret(sealed, key)).to.equal(PASSWORD);
    const back = (await get(id))._transports;
    back[0].options.path = '/elsewhere';
    const updated = await app.request.post(`/api/v1/export/${id}`).query({ token }).send({ export: {}, _transports: back }).expect(200);
    expect(updated.body._transports[0].options).to.include({ password: '***', path: '/elsewhere' });
    expect(decryptSecret(await stored(), key)).to.equal(PASSWORD);
    await app.request
      .post(`/api/v1/export/${id}`)
      .query({ token })
      .send({ export: {}, _transports: [{ type: 'sftp', options: sftpOptions({ password: 'another-One-1' }) }] })
      .expect(200);
    expect(decryptSecret(await stored(), key)).to.equal('another-One-1');
    // A "***" with no stored value to keep is not taken as a password: the secret is reported missing.
    const bad = await app.request
      .put('/api/v1/export')
      .query({ token })
      .send({ export: { name: 'x' }, _transports: [{ type: 'sftp', options: sftpOptions({ password: '***' }) }] })
      .expect(400);
    expect(bad.body.parameters.path).to.equal('_transports[0].options.password');
  });

  it('R-TR-1 R-TR-3 a done run is delivered to SFTP, S3, a directory (packed as zip) and a webhook in parallel, manifest last', async () => {
    const created = await put({
      export: { name: 'Quarterly', custom_data: [{ key: 'team', value: 'blue' }] },
      _transports: [
        { type: 'sftp', options: sftpOptions() },
        {
          type: 's3',
          options: {
            endpoint: s3.endpoint,
            region: 'us-east-1',
            bucket: 'exports',
            prefix: 'drop',
            access_key_id: 'S3RVER',
            secret_access_key: 'S3RVER',
            force_path_style: true,
          },
        },
        { type: 'directory', packer: 'zip', options: { path: outRoot } },
        { type: 'webhook', options: { url: hookUrl, secret: HOOK_SECRET } },
      ],
    });
    const id = created.export._id;
    const done = await eventually(async () => {
      const e = await get(id);
      return e._transports.every((t: { _state: string }) => t._state === 'done') ? e : null;
    }, 15_000);
    expect(done._state).to.equal('done');
    const finishes = done._log.filter((l: { type: string }) => l.type === 'TRANSPORT_FINISH');
    expect(finishes).to.have.length(4);
    // SFTP: plain files under <path>/<export name>/<run timestamp>/, renamed from temporary names, manifest last.
    const [runDir] = await readdir(path.join(sftpRoot, 'upload', 'Quarterly'));
    expect((await readdir(path.join(sftpRoot, 'upload', 'Quarterly', runDir!))).sort()).to.deep.equal(['data.txt', 'manifest.json']);
    const renames = sftp.events.filter((e) => e.startsWith('rename:'));
    expect(renames.at(-1)).to.match(/manifest\.json$/);
    // S3: manifest completed last.
    const s3Keys = s3.events.filter((k) => k.startsWith('drop/Quarterly/'));
    expect(s3Keys).to.have.length(2);
    expect(s3Keys.at(-1)).to.match(/manifest\.json$/);
    // Directory with packer zip: the archive streamed from the archive module, plus the manifest.
    // Directory deliveries land below the owner's folder inside the root (R-ROB-6).
    const mine = path.join(outRoot, String(userId), 'Quarterly');
    const [dirRun] = await readdir(mine);
    const delivered = (await readdir(path.join(mine, dirRun!))).sort();
    expect(delivered).to.deep.equal(['Quarterly.zip', 'manifest.json']);
    const zip = await readFile(path.join(mine, dirRun!, 'Quarterly.zip'));
    expect(zip.subarray(0, 2).toString()).to.equal('PK');
    expect(zip.includes(Buffer.from(`run ${done._last_run._id} of export ${id}`))).to.equal(true);
    // Webhook: signed JSON summary.
    const call = hookBodies.find((b) => JSON.parse(b.body).runId === done._last_run._id || b.body.includes(`"export`));
    expect(call).to.not.equal(undefined);
    expect(call!.signature).to.equal(`sha256=${createHmac('sha256', HOOK_SECRET).update(call!.body).digest('hex')}`);
    // Replay protection inside the signed body (R-ROB-8).
    const signed = JSON.parse(call!.body);
    expect(signed.delivery_id).to.match(/^[0-9a-f-]{36}$/);
    expect(Math.abs(Date.parse(signed.timestamp) - Date.now())).to.be.lessThan(60_000);
    expect(done._transports[3]._log.length).to.be.greaterThan(0);
  });

  it('R-ROB-6 another user\'s export with the same name and path delivers into its own folder, never into yours', async () => {
    const neighbour = await app.login('neighbour');
    const deliver = async (who: string, name: string) => {
      const res = await app.request
        .put('/api/v1/export')
        .query({ token: who })
        .send({ export: { name }, _transports: [{ type: 'directory', options: { path: path.join(outRoot, 'shared') } }] })
        .expect(200);
      const id = res.body.export._id;
      return eventually(async () => {
        const e = (await app.request.get(`/api/v1/export/${id}`).query({ token: who }).expect(200)).body;
        return e._transports[0]._state === 'done' ? e : null;
      }, 15_000);
    };
    await deliver(token, 'Same name');
    const mine = path.join(outRoot, String(userId), 'shared', 'Same name');
    const [myRun] = await readdir(mine);
    const myManifest = await readFile(path.join(mine, myRun!, 'manifest.json'), 'utf8');
    await deliver(neighbour.token, 'Same name');
    const theirs = path.join(outRoot, String(neighbour.userId), 'shared', 'Same name');
    expect(await readdir(theirs)).to.have.length(1);
    expect(await readdir(mine)).to.deep.equal([myRun]);
    expect(await readFile(path.join(mine, myRun!, 'manifest.json'), 'utf8')).to.equal(myManifest);
    expect(await stat(path.join(outRoot, 'shared')).catch(() => null)).to.equal(null);
  });

  it('R-TR-1 R-TR-4 a refused SFTP login: 3 attempts, TRANSPORT_FAILED, export stays done, no secret in any log line or response', async () => {
    const wrong = 'wrong-Password-Q7z!';
    logLines.length = 0;
    const created = await put({ export: { name: 'refused' }, _transports: [{ type: 'sftp', options: sftpOptions({ password: wrong }) }] });
    const id = created.export._id;
    const failed = await eventually(transportState(id, 0, 'failed'), 15_000);
    expect(failed._state).to.equal('done');
    expect(failed._files.map((f: { path: string }) => f.path)).to.deep.equal(['data.txt', 'manifest.json']);
    expect(failed._transports[0]._failure_reason).to.be.a('string').and.not.include(wrong);
    const row = await app.db('transport_deliveries').where({ export_id: id }).first();
    expect(row.attempts).to.equal(3);
    expect(failed._log.map((l: { type: string }) => l.type)).to.include('TRANSPORT_FAILED');
    const all = logLines.join('');
    expect(all).to.include('transport attempt failed');
    expect(all).not.to.include(wrong);
    expect(all).not.to.include(PASSWORD);
    expect(JSON.stringify(failed)).not.to.include(wrong);
    const list = await app.request.get('/api/v1/export').query({ token }).expect(200);
    expect(JSON.stringify(list.body)).not.to.include(wrong);
  });

  it('R-ROB-7 "***" keeps a secret only for an unchanged destination: a new host, port or username needs it again', async () => {
    const ftpTo = (port: number, extra: Record<string, unknown> = {}) => ({
      type: 'ftp',
      options: { host: '127.0.0.1', port, username: 'bob', password: 'ftp-Secret-41x', path: 'in', ...extra },
    });
    const created = await put({ export: { name: 'guarded secret' }, _transports: [ftpTo(await closedPort())] });
    const id = created.export._id;
    const key = parseSecretKey((await readFile(path.join(app.dataDir, 'secret.key'), 'utf8')).trim());
    const storedPassword = async () => decryptSecret((await app.db('exports').where({ id }).first()).transports[0].options.password, key);
    const post = (transports: unknown[]) =>
      app.request.post(`/api/v1/export/${id}`).query({ token }).send({ export: {}, _transports: transports });
    const masked = (await get(id))._transports[0];
    for (const change of [{ port: trapPort }, { host: '127.0.0.1.' }, { username: 'mallory' }, { secure: 'explicit' }]) {
      const res = await post([{ ...masked, options: { ...masked.options, ...change } }]).expect(400);
      expect(res.body.code).to.equal('error.api.attribute_expected');
      expect(res.body.parameters.path).to.equal('_transports[0].options.password');
      expect(res.body.description).to.match(/must be sent again/);
    }
    expect(await storedPassword()).to.equal('ftp-Secret-41x');
    // The same destination with another folder keeps it.
    await post([{ ...masked, options: { ...masked.options, path: 'elsewhere' } }]).expect(200);
    expect(await storedPassword()).to.equal('ftp-Secret-41x');
    // Sent again, the new destination gets the new secret, and never the old one.
    await post([ftpTo(trapPort, { password: 'brand-New-77' })]).expect(200);
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    await eventually(async () => trapped.includes('brand-New-77'), 15_000);
    expect(trapped).not.to.include('ftp-Secret-41x');
  });

  it('R-ROB-7 url transports: the password is parsed as URLs are (last "@"), sealed whole, and kept only for the same destination', async () => {
    const secret = 'p@ss:w@rd';
    const location = (port: number, user = 'bob', dir = 'in') =>
      `ftp://${user}:${encodeURIComponent(secret).replace('%40', '@')}@127.0.0.1:${port}/${dir}`;
    const port = await closedPort();
    // The seed's form: {"type": "url", "url": …}.
    const created = await put({ export: { name: 'url secret' }, _transports: [{ type: 'url', url: location(port) }] });
    const id = created.export._id;
    const shown = created._transports[0].options.url as string;
    expect(shown).to.equal(`ftp://bob:***@127.0.0.1:${port}/in`);
    const stored = (await app.db('exports').where({ id }).first()).transports[0].options.url as string;
    for (const text of [JSON.stringify(await get(id)), stored]) {
      expect(text).not.to.include('ss:w').and.not.to.include('w@rd').and.not.to.include('rd@');
    }
    const post = (url: string) =>
      app.request.post(`/api/v1/export/${id}`).query({ token }).send({ export: {}, _transports: [{ type: 'url', url }] });
    await post(shown.replace(`/in`, '/other')).expect(200);
    for (const changed of [shown.replace(String(port), String(trapPort)), shown.replace('bob:', 'eve:')]) {
      const res = await post(changed).expect(400);
      expect(res.body.parameters.path).to.equal('_transports[0].options.url');
    }
    const key = parseSecretKey((await readFile(path.join(app.dataDir, 'secret.key'), 'utf8')).trim());
    const kept = new URL((await app.db('exports').where({ id }).first()).transports[0].options.url as string);
    expect(kept.pathname).to.equal('/other');
    expect(decryptSecret(decodeURIComponent(kept.password), key)).to.equal(secret);
    // Delivered, the whole password reaches the server that was checked.
    await post(location(trapPort)).expect(200);
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    await eventually(async () => trapped.includes(secret), 15_000);
  });

  it('R-ROB-5 a literal internal address is a 400 on save; one stored earlier fails at once, without retries, naming the rule', async () => {
    for (const [transport, attr] of [
      [{ type: 'webhook', options: { url: 'http://169.254.169.254/latest', secret: 'abc-def' } }, 'options.url'],
      [{ type: 'webhook', options: { url: 'http://[64:ff9b::a9fe:a9fe]/latest' } }, 'options.url'],
      [{ type: 'sftp', options: sftpOptions({ host: '10.0.0.7' }) }, 'options.host'],
      [{ type: 'url', url: 'sftp://alice:pw@[::ffff:192.168.0.1]/x' }, 'url'],
      [{ type: 's3', options: { endpoint: 'http://[fd00::1]:9000', bucket: 'b1b', access_key_id: 'k', secret_access_key: 's' } }, 'options.endpoint'],
    ] as const) {
      const res = await app.request.put('/api/v1/export').query({ token }).send({ export: { name: 'x' }, _transports: [transport] }).expect(400);
      expect(res.body.parameters.path).to.equal(`_transports[0].${attr}`);
      expect(res.body.description).to.match(/not allowed/);
    }
    // Saved before the administrator shortened TRANSPORT_ALLOW_HOSTS (written straight to the row here).
    const created = await put({ export: { name: 'metadata' }, _schedules: [{ cron: '0 3 * * *' }] });
    const id = created.export._id;
    await app.db('exports').where({ id }).update({ transports: JSON.stringify([{ type: 'webhook', options: { url: 'http://169.254.169.254/latest' } }]) });
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    const failed = await eventually(transportState(id, 0, 'failed'), 15_000);
    expect(failed._transports[0]._failure_reason).to.match(/not allowed: link-local address/);
    const row = await app.db('transport_deliveries').where({ export_id: id }).first();
    expect(row.attempts).to.equal(1);
    expect(failed._transports[0]._log.filter((l: { message: string }) => /attempt \d failed/.test(l.message))).to.have.length(1);
  });

  it('R-TR-2 email notify=failure mails a failed run with its reason; notify=success does not', async () => {
    mails.length = 0;
    gate.failWith = Object.assign(new Error('boom'), { userMessage: 'The search timed out.' });
    try {
      const created = await put({
        export: { name: 'watched' },
        _transports: [
          { type: 'email', options: { notify: 'failure' }, email: { recipients: ['ops@example.test'], message: 'Check it' } },
          { type: 'email', options: { notify: 'success' }, email: { recipients: ['happy@example.test'], message: '' } },
        ],
      });
      const e = await eventually(transportState(created.export._id, 0, 'done'), 15_000);
      expect(e._state).to.equal('failed');
      expect(e._transports[1]._state).to.equal(null);
      expect(mails).to.have.length(1);
      expect(mails[0]).to.include('Outcome: failed').and.include('The search timed out.').and.include('Check it');
    } finally {
      gate.failWith = null;
    }
  });

  it('R-ROB-8 deliveries are capped per process and per owner: one user\'s transports cannot take every slot', async () => {
    // Slots are counted per process: start from none in use (earlier tests' retries have ended).
    await eventually(async () => app.deliveries.inFlight === 0, 15_000);
    hold = true;
    const at = (tag: string) => hookBodies.filter((b) => b.url.includes(`tag=${tag}`)).length;
    try {
      const greedy = await put({
        export: { name: 'greedy' },
        _transports: ['g1', 'g2', 'g3'].map((tag) => ({ type: 'webhook', options: { url: `${hookUrl}?tag=${tag}` } })),
      });
      await eventually(async () => at('g1') + at('g2') + at('g3') === 2, 15_000);
      const other = await app.login('patient');
      await app.request
        .put('/api/v1/export')
        .query({ token: other.token })
        .send({ export: { name: 'modest' }, _transports: [{ type: 'webhook', options: { url: `${hookUrl}?tag=m1` } }] })
        .expect(200);
      // The other owner gets the third slot although the greedy one queued first.
      await eventually(async () => at('m1') === 1, 15_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(at('g1') + at('g2') + at('g3')).to.equal(2);
      const waiting = (await get(greedy.export._id))._transports.map((t: { _state: string }) => t._state).sort();
      expect(waiting).to.deep.equal(['pending', 'processing', 'processing']);
    } finally {
      hold = false;
      for (const r of held.splice(0)) r.writeHead(204).end();
    }
    await eventually(async () => at('g1') + at('g2') + at('g3') === 3 && app.deliveries.inFlight === 0, 15_000);
  });

  it('R-ROB-8 e-mail is capped per user: recipients per message on save and delivery, messages per day in the database', async () => {
    const postman = await app.login('postman');
    const mail = (to: string[]) => ({ type: 'email', options: { notify: 'always' }, email: { recipients: to, message: '' } });
    const tooMany = await app.request
      .put('/api/v1/export')
      .query({ token: postman.token })
      .send({ export: { name: 'spam' }, _transports: [mail(['a@x.test', 'b@x.test', 'c@x.test', 'd@x.test'])] })
      .expect(400);
    expect(tooMany.body.parameters.path).to.equal('_transports[0].email.recipients');
    expect(tooMany.body.description).to.match(/MAIL_MAX_RECIPIENTS/);
    mails.length = 0;
    const created = await app.request
      .put('/api/v1/export')
      .query({ token: postman.token })
      .send({ export: { name: 'newsletter' }, _transports: ['1', '2', '3', '4'].map((n) => mail([`r${n}@x.test`])) })
      .expect(200);
    const id = created.body.export._id;
    const settled = await eventually(async () => {
      const e = (await app.request.get(`/api/v1/export/${id}`).query({ token: postman.token }).expect(200)).body;
      return e._transports.every((t: { _state: string }) => t._state === 'done' || t._state === 'failed') ? e : null;
    }, 15_000);
    const states = settled._transports.map((t: { _state: string }) => t._state);
    expect(states.filter((x: string) => x === 'done')).to.have.length(3);
    const refused = settled._transports.find((t: { _state: string }) => t._state === 'failed');
    expect(refused._failure_reason).to.match(/limit of 3 e-mails in 24 hours \(MAIL_MAX_PER_DAY\)/);
    expect(mails).to.have.length(3);
    const rows = await app.db('transport_deliveries').where({ export_id: id, state: 'failed' });
    expect(rows.map((r: { attempts: number }) => r.attempts)).to.deep.equal([1]);
    // The count is in the database: deleting the export, or a new process, does not reset it.
    await app.request.delete(`/api/v1/export/${id}`).query({ token: postman.token }).expect(200);
    const fresh = createMailQuota(app.db, { maxRecipients: 3, maxPerDay: 3 });
    const err = await fresh.reserve(postman.userId, 1).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/MAIL_MAX_PER_DAY/);
    // Other users are not affected.
    await (await fresh.reserve(userId, 1))();
    // Recipients are capped per day too, summed over messages (3 sent to 1 recipient each, 5 allowed in all).
    const byRecipients = createMailQuota(app.db, { maxRecipients: 3, maxPerDay: 100, maxRecipientsPerDay: 5 });
    const undo = await byRecipients.reserve(postman.userId, 2);
    const over = await byRecipients.reserve(postman.userId, 1).then(
      () => null,
      (e: Error) => e,
    );
    expect(over?.message).to.match(/limit of 5 recipients in 24 hours \(MAIL_MAX_RECIPIENTS_PER_DAY\)/);
    await undo();
    // The sweep keeps the rows of the last 24 hours (and only those).
    await app.db('mail_sends').insert({ owner_id: userId, recipients: 1, sent_at: new Date(Date.now() - 2 * 86_400_000) });
    expect(await purgeMailSends(app.db)).to.equal(1);
    expect(Number((await app.db('mail_sends').where({ owner_id: postman.userId }).count({ n: '*' }))[0]!.n)).to.equal(3);
  });

  it('R-FILE-5 R-EXP-10 download: links with exact sizes and the passkey, _expires_at, expiry deletes the files, a start revives', async () => {
    const created = await put({ export: { name: 'Photos', type: 'download' }, _transports: [{ type: 'download', packer: 'zip_10mb' }, { type: 'download', packer: 'tar' }] });
    const id = created.export._id;
    const done = await eventually(transportState(id, 0, 'done'), 15_000);
    const passkey = (await app.db('exports').where({ id }).first()).passkey;
    const [zipLink] = done._transports[0]._download._files;
    expect(zipLink.url).to.equal(`https://exports.example/api/v1/export/${id}/download/${passkey}/run/${done._last_run._id}/Photos.1.zip`);
    expect(zipLink.size).to.be.a('number').and.greaterThan(0);
    expect(done._transports[1]._download._files[0].url).to.match(/\/Photos\.tar$/);
    expect(done._transports[1]._download._files[0].size % 512).to.equal(0);
    const run = await app.db('runs').where({ id: done._last_run._id }).first();
    expect(Date.parse(done._expires_at)).to.equal(run.finished_at.getTime() + 3 * 86_400_000);
    // Expire it now: the sweep deletes the files, logs EXPORT_EXPIRED, and isExpired tells the download route.
    await app.db('exports').where({ id }).update({ expires_at: new Date(Date.now() - 1000) });
    const sweeper = app.createWorker({ sweepMs: 100_000 });
    await sweeper.sweep();
    const expired = await get(id);
    expect(expired._files).to.deep.equal([]);
    expect(expired._log.map((l: { type: string }) => l.type)).to.include('EXPORT_EXPIRED');
    expect(expired._transports[0]._download._files).to.deep.equal([]);
    expect(isExpired(await app.db('exports').where({ id }).first())).to.equal(true);
    expect(await stat(path.join(app.dataDir, 'storage', run.files_prefix)).catch(() => null)).to.equal(null);
    // A new start revives it with a new expiry.
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    const revived = await eventually(async () => {
      const e = await get(id);
      // The new expiry is written by the delivery runner's onPublished, just after the run is shown done.
      return e._state === 'done' && e._last_run._id !== run.id && Date.parse(e._expires_at) > Date.now() ? e : null;
    });
    expect(revived._files).to.have.length(2);
    expect(Date.parse(revived._expires_at)).to.be.greaterThan(Date.now());
    expect(isExpired(await app.db('exports').where({ id }).first())).to.equal(false);
  });

  it('R-TR-1 stopping the export aborts its delivery in progress; deleting aborts too', async () => {
    hold = true;
    try {
      const created = await put({ export: { name: 'stoppable' }, _transports: [{ type: 'webhook', options: { url: hookUrl, secret: HOOK_SECRET } }] });
      const id = created.export._id;
      await eventually(transportState(id, 0, 'processing'), 15_000);
      await eventually(async () => held.length > 0);
      const stopped = await app.request.post(`/api/v1/export/${id}/stop`).query({ token }).expect(200);
      expect(stopped.body._state).to.equal('done');
      const e = await eventually(transportState(id, 0, 'failed'));
      expect(e._transports[0]._failure_reason).to.match(/stopped/);
      await eventually(async () => app.deliveries.inFlight === 0, 5000);

      const second = await put({ export: { name: 'deletable' }, _transports: [{ type: 'webhook', options: { url: hookUrl, secret: HOOK_SECRET } }] });
      await eventually(transportState(second.export._id, 0, 'processing'), 15_000);
      await app.request.delete(`/api/v1/export/${second.export._id}`).query({ token }).expect(200);
      await eventually(async () => app.deliveries.inFlight === 0, 5000);
    } finally {
      hold = false;
      for (const r of held.splice(0)) r.destroy();
    }
  });
});
