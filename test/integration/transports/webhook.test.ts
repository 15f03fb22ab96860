import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { isPermanent } from '../../../server/domain/transports/failure.js';
import { createWebhookTransport } from '../../../server/domain/transports/webhook.js';
import { expectNoSecrets, freePort, makeCtx, rejection } from './helpers.js';

const SECRET = 'hook-Secret-77';

describe('webhook transport (node http server)', () => {
  let server: Server;
  let url: string;
  let status = 204;
  const received: { body: Buffer; signatureOk: boolean }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
        const got = Buffer.from(String(req.headers['x-export-signature'] ?? ''));
        received.push({ body, signatureOk: got.length === expected.length && timingSafeEqual(got, expected) });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/export?token=abc`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
    status = 204;
  });
  const transport = (allowHosts = ['127.0.0.1']) => createWebhookTransport({ allowHosts, timeoutMs: 2000 });

  it('R-TR-2 webhook POSTs the JSON summary signed with HMAC-SHA256 of the exact body', async () => {
    const t = transport();
    await t.deliver(t.validate({ url, secret: SECRET }, 'o'), makeCtx());
    assert.equal(received.length, 1);
    assert.ok(received[0]!.signatureOk);
    const json = JSON.parse(received[0]!.body.toString());
    assert.equal(json.export_id, 7);
    assert.equal(json.state, 'done');
    assert.deepEqual(json.custom_data, [{ key: 'project', value: 'alpha' }]);
    assert.equal(json.files.length, 3);
  });

  it('R-TR-2 webhook fails on a non-2xx answer without showing the query string or the secret', async () => {
    status = 500;
    const t = transport();
    const err = await rejection(() => t.deliver(t.validate({ url, secret: SECRET }, 'o'), makeCtx()));
    assert.match(err.message, /^Webhook http:\/\/127\.0\.0\.1:\d+ answered 500/);
    expectNoSecrets(err, [SECRET, 'token=abc']);
  });

  it('R-TR-6 webhook fails with a clear reason when the server is down', async () => {
    const t = transport();
    const down = t.validate({ url: `http://127.0.0.1:${await freePort()}/x` }, 'o');
    const err = await rejection(() => t.deliver(down, makeCtx()));
    assert.match(err.message, /refused/);
  });

  it('R-TR-5 R-ROB-5 webhook refuses loopback unless listed (a literal on save, a name on delivery, permanently)', async () => {
    const t = transport([]);
    assert.throws(
      () => t.validate({ url }, 'o'),
      (e: any) => e.status === 400 && e.parameters.path === 'o.url' && /loopback/.test(e.message),
    );
    assert.throws(() => t.validate({ url: 'http://169.254.169.254/latest/' }, 'o'), /link-local/);
    assert.throws(() => t.validate({ url: 'http://[64:ff9b::a9fe:a9fe]/latest/' }, 'o'), /NAT64.*link-local/);
    // A name is judged on the addresses it resolves to when the delivery connects.
    const err = await rejection(() => t.deliver({ url: url.replace('127.0.0.1', 'localhost') }, makeCtx()));
    assert.match(err.message, /not allowed: loopback address/);
    assert.ok(isPermanent(err));
    assert.equal(received.length, 0);
  });

  it('R-ROB-8 webhook validation answers a 400, never a TypeError, for strings that are no URL', () => {
    const t = transport();
    for (const bad of ['not a url', 'http://[::1', 'http://exa mple.com/', '']) {
      assert.throws(
        () => t.validate({ url: bad }, 'o'),
        (e: any) => e.status === 400 && e.parameters.path === 'o.url',
      );
    }
  });

  it('R-TR-2 webhook validation refuses non-http URLs and credentials in the URL', () => {
    const t = transport();
    assert.throws(
      () => t.validate({ url: 'ftp://x/y' }, 'o'),
      (e: any) => e.parameters.path === 'o.url',
    );
    assert.throws(
      () => t.validate({ url: 'http://u:p@x/y' }, 'o'),
      (e: any) => e.parameters.path === 'o.url',
    );
  });

  it('R-ROB-8 the signed body carries a delivery id and a timestamp; a replayed or altered call fails verification', async () => {
    const t = transport();
    const before = Date.now();
    await t.deliver(t.validate({ url, secret: SECRET }, 'o'), makeCtx({ deliveryId: 'd-1' }));
    await t.deliver(t.validate({ url, secret: SECRET }, 'o'), makeCtx({ deliveryId: 'd-1' }));
    const [first, retry] = received.map((r) => r.body);
    const json = JSON.parse(first!.toString());
    assert.equal(json.delivery_id, 'd-1');
    assert.ok(Date.parse(json.timestamp) >= before - 1000 && Date.parse(json.timestamp) <= Date.now() + 1000);
    assert.ok(received.every((r) => r.signatureOk), 'the signature covers the body with id and timestamp');
    // The receiver of docs/webhooks.md: fresh, correctly signed, not seen before.
    const seen = new Set<string>();
    const sign = (body: Buffer) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    assert.equal(verifyWebhook(first!, sign(first!), SECRET, seen), true);
    assert.equal(verifyWebhook(first!, sign(first!), SECRET, seen), false, 'a replay of the same call');
    assert.equal(JSON.parse(retry!.toString()).delivery_id, 'd-1', 'attempts of one delivery share the id');
    const stale = Buffer.from(JSON.stringify({ ...json, delivery_id: 'd-2', timestamp: new Date(before - 3_600_000).toISOString() }));
    assert.equal(verifyWebhook(stale, sign(stale), SECRET, seen), false, 'an old timestamp');
    const forged = Buffer.from(JSON.stringify({ ...json, delivery_id: 'd-3' }));
    assert.equal(verifyWebhook(forged, sign(first!), SECRET, seen), false, 'a changed id breaks the signature');
  });

  it('R-ROB-8 webhook has an overall deadline: a server trickling its answer cannot hold the delivery', async () => {
    const slow = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const t = createWebhookTransport({ allowHosts: ['127.0.0.1'], timeoutMs: 2000, deadlineMs: 600 });
      const started = Date.now();
      const err = await rejection(() =>
        t.deliver({ url: `http://127.0.0.1:${(slow.address() as { port: number }).port}/` }, makeCtx()),
      );
      assert.match(err.message, /did not answer completely within 0\.6 s/);
      assert.ok(Date.now() - started < 5000, 'cut by the deadline, not by the socket timeout');
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});

/**
 * The verification snippet of docs/webhooks.md (the README links to it), taken from that file itself so the
 * documented code is the tested code.
 */
type Verify = (rawBody: Buffer, signatureHeader: string, secret: string, seenIds: Set<string>) => boolean;
function documentedVerifier(): Verify {
  const doc = readFileSync(new URL('../../../docs/webhooks.md', import.meta.url), 'utf8');
  const block = /```js\n([\s\S]*?function verifyWebhook[\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'docs/webhooks.md has the verifyWebhook snippet');
  const code = block.replace(/^\s*import .*$/m, '');
  return new Function('createHmac', 'timingSafeEqual', `${code}\nreturn verifyWebhook;`)(createHmac, timingSafeEqual);
}
const verifyWebhook: Verify = (...args) => documentedVerifier()(...args);
