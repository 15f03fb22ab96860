import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { expect } from 'chai';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { FileProducer } from '../helpers/file-producer.js';
import { rawRequest } from '../helpers/raw-http.js';
import { type MailCatcher, startMailCatcher } from '../helpers/mail-catcher.js';

const PUBLIC = 'https://exports.example';

/**
 * Issue 9 finding 7 (R-ROB-6): anonymous passkey links exist only while the export has a `download` transport, and
 * only the export's own receivers of a download transport's links get them: without one, no e-mail or webhook body
 * carries a passkey link and a right passkey answers like a wrong one.
 */
describe('anonymous links need a download transport (R-ROB-6, issue 9 finding 7)', function () {
  this.timeout(90_000);
  let app: TestApp;
  let token: string;
  let worker: Worker;
  let smtp: MailCatcher;
  let hook: Server;
  let hookUrl: string;
  const hookBodies: { export_id: number; run_id: number; links: { url: string; size: number | null }[] }[] = [];
  const hookRaw: string[] = [];
  let mails: string[] = [];
  const producer = new FileProducer();

  const view = async (id: number) => (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body;
  const delivered = (id: number) =>
    eventually(async () => {
      const e = await view(id);
      return e._state === 'done' && e._transports.every((t: { _state: string }) => t._state === 'done') ? e : null;
    }, 20_000);
  const create = async (name: string, transports: object[]) => {
    producer.plans.set(name, [{ path: 'a.txt', data: Buffer.from(`${name}\n`) }]);
    const body = { export: { name }, _transports: transports };
    const id = (await app.request.put('/api/v1/export').query({ token }).send(body).expect(200)).body.export._id as number;
    const e = await delivered(id);
    const { passkey } = await app.db('exports').where({ id }).first();
    return { id, e, passkey: passkey as string };
  };
  const setTransports = (id: number, transports: object[]) =>
    app.request.post(`/api/v1/export/${id}`).query({ token }).send({ export: {}, _transports: transports }).expect(200);
  /** Mail text with quoted-printable soft line breaks joined, so a link split over two lines is still found. */
  const mailsTo = (address: string) => mails.filter((m) => m.includes(address)).map((m) => m.replace(/=\r?\n/g, ''));

  before(async () => {
    smtp = await startMailCatcher();
    mails = smtp.mails;
    hook = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        hookRaw.push(raw);
        hookBodies.push(JSON.parse(raw));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    app = await startTestApp({
      producers: [producer],
      env: {
        TRANSPORT_ALLOW_HOSTS: '127.0.0.1',
        SMTP_URL: smtp.url,
        PUBLIC_URL: PUBLIC,
      },
      compose: { deliveryRetryBaseMs: 20 },
    });
    token = (await app.login('sharer')).token;
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 600_000 });
    worker.start();
  });
  after(async () => {
    await worker?.stop();
    await app?.close();
    await smtp.close();
    hook?.closeAllConnections();
    await new Promise<void>((r) => hook.close(() => r()));
  });

  it('an export without a download transport has no link: its passkey answers like a wrong one', async () => {
    const { id, e, passkey } = await create('NoLinks', []);
    expect(e._files.length).to.be.greaterThan(0);
    for (const url of [`/api/v1/export/${id}/download/${passkey}/NoLinks.zip`, `/api/v1/export/${id}/download/${passkey}/run/${e._last_run._id}/NoLinks.zip`]) {
      const r = await rawRequest(app.server, url);
      expect(r.status, url).to.equal(302);
      expect(r.headers.location, url).to.equal('/#server_error:export.invalid.passkey');
      const resumed = await rawRequest(app.server, url, { headers: { Range: 'bytes=10-' } });
      expect(resumed.status).to.equal(403);
      expect(JSON.parse(resumed.body.toString())).to.include({ code: 'error.user.invalid_passkey' });
    }
  });

  it('removing the download transport revokes its links at once; adding one back offers them again', async () => {
    const { id, e, passkey } = await create('Revocable', [{ type: 'download', packer: 'zip' }]);
    const link = new URL(e._transports[0]._download._files[0].url).pathname;
    const alias = `/api/v1/export/${id}/download/${passkey}/Revocable.zip`;
    expect(link).to.equal(`/api/v1/export/${id}/download/${passkey}/run/${e._last_run._id}/Revocable.zip`);
    for (const url of [link, alias]) expect((await rawRequest(app.server, url)).status, url).to.equal(200);

    const removed = (await setTransports(id, [{ type: 'webhook', options: { url: hookUrl } }])).body;
    expect(JSON.stringify(removed)).not.to.include(passkey);
    for (const url of [link, alias]) {
      const r = await rawRequest(app.server, url);
      expect(r.status, url).to.equal(302);
      expect(r.headers.location, url).to.equal('/#server_error:export.invalid.passkey');
    }
    await setTransports(id, [{ type: 'download', packer: 'zip' }]);
    for (const url of [link, alias]) expect((await rawRequest(app.server, url)).status, url).to.equal(200);
  });

  it('webhook bodies and e-mails of an export without a download transport carry no passkey link', async () => {
    hookBodies.length = 0;
    hookRaw.length = 0;
    const { id, passkey } = await create('Quiet', [
      { type: 'webhook', options: { url: hookUrl } },
      { type: 'email', options: { notify: 'always' }, email: { recipients: ['quiet@example.test'], message: 'Done' } },
    ]);
    await eventually(async () => hookBodies.some((b) => b.export_id === id) && mailsTo('quiet@example.test').length > 0);
    const body = hookBodies.find((b) => b.export_id === id);
    expect(body?.links).to.deep.equal([]);
    expect(hookRaw.join('\n')).not.to.include(passkey).and.not.to.include('/download/');
    const [mail] = mailsTo('quiet@example.test');
    expect(mail).to.include('Outcome: done');
    expect(mail).not.to.include(passkey).and.not.to.include('/download/');
  });

  it('with a download transport, its recipients, the e-mail and the webhook of the export get the run-named links', async () => {
    hookBodies.length = 0;
    const { id, e, passkey } = await create('Shared', [
      { type: 'download', packer: 'tar', email: { recipients: ['dl@example.test'], message: '' } },
      { type: 'webhook', options: { url: hookUrl } },
    ]);
    const expected = `${PUBLIC}/api/v1/export/${id}/download/${passkey}/run/${e._last_run._id}/Shared.tar`;
    expect(e._transports[0]._download._files.map((l: { url: string }) => l.url)).to.deep.equal([expected]);
    await eventually(async () => hookBodies.some((b) => b.export_id === id) && mailsTo('dl@example.test').length > 0);
    const body = hookBodies.find((b) => b.export_id === id);
    expect(body?.run_id).to.equal(e._last_run._id);
    expect(body?.links.map((l) => l.url)).to.deep.equal([expected]);
    expect(mailsTo('dl@example.test')[0]).to.include(expected);
  });
});
