import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { S3Storage, type S3StorageOptions } from '../../../server/infra/storage/s3-storage.js';
import { type S3TestServer, startS3Server } from '../transports/servers/s3-server.js';

const collect = async (s: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

/** What the store does to the next requests that match: throttle (503 SlowDown), fail (500), or stall. */
type Fault = {
  match: (req: IncomingMessage) => boolean;
  times: number;
  act: (req: IncomingMessage, res: ServerResponse) => void;
};

const slowDown = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(503, { 'Content-Type': 'application/xml' });
  res.end(
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
  );
};
const internalError = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(500, { 'Content-Type': 'application/xml' });
  res.end(
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>',
  );
};
/** Headers and the first bytes of a ranged GET, then nothing: a connection that stalls mid-body. */
const stallMidBody = (req: IncomingMessage, res: ServerResponse) => {
  const [, a, b] = /bytes=(\d+)-(\d+)/.exec(String(req.headers.range)) ?? [];
  const length = Number(b) - Number(a) + 1;
  res.writeHead(206, { 'Content-Length': String(length), 'Content-Range': `bytes ${a}-${b}/999999999` });
  res.write(Buffer.alloc(Math.min(10, length)));
};
const stallSilently = () => {};

describe('S3 storage: throttling, server errors, stalls, batched deletes, secrets (s3rver behind a fault hook)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'em-s3-faults-'));
  let server: S3TestServer;
  const faults: Fault[] = [];
  /** `METHOD url status` of every answered request. */
  const answered: string[] = [];
  const made: S3Storage[] = [];
  const storage = (o: Partial<S3StorageOptions> = {}) => {
    const s = new S3Storage({
      endpoint: server.endpoint,
      region: 'us-east-1',
      bucket: 'faults',
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      readChunk: 64 * 1024,
      stallTimeoutMs: 1500,
      ...o,
    });
    made.push(s);
    return s;
  };
  before(async () => {
    server = await startS3Server(dir, 'faults', (req, res) => {
      res.on('finish', () => answered.push(`${req.method} ${req.url} ${res.statusCode}`));
      const f = faults.find((x) => x.times > 0 && x.match(req));
      if (!f) return false;
      f.times--;
      f.act(req, res);
      return true;
    });
  });
  afterEach(() => {
    faults.length = 0;
  });
  after(async () => {
    for (const s of made) await s.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const isGet = (key: string) => (req: IncomingMessage) => req.method === 'GET' && String(req.url).includes(key);

  it('R-SCALE-1 throttling (503 SlowDown) and 5xx are retried with back-off, for reads and writes', async () => {
    const s = storage();
    const data = randomBytes(200_000);
    faults.push({ match: (r) => r.method === 'PUT', times: 2, act: internalError });
    await s.write('retry/obj.bin', Readable.from([data]));
    faults.push({ match: isGet('retry/obj.bin'), times: 3, act: slowDown });
    const before = server.requests.length;
    expect((await collect(await s.read('retry/obj.bin', { expectedSize: data.length }))).equals(data)).to.equal(true);
    expect(server.requests.slice(before).filter((r) => r.startsWith('GET')).length).to.be.greaterThan(3);
    expect(faults.every((f) => f.times === 0)).to.equal(true);
  });

  it('R-SCALE-1 a connection that stalls (before the headers or mid-body) is timed out and the range fetched again', async () => {
    const s = storage();
    const data = randomBytes(300_000);
    await s.write('stall/obj.bin', Readable.from([data]));
    faults.push({ match: isGet('stall/obj.bin'), times: 1, act: stallMidBody });
    faults.push({ match: isGet('stall/obj.bin'), times: 1, act: stallSilently });
    expect((await collect(await s.read('stall/obj.bin', { expectedSize: data.length }))).equals(data)).to.equal(true);
    expect(faults.every((f) => f.times === 0)).to.equal(true);
  });

  it('R-SCALE-1 a store that keeps stalling fails the read with a clear error instead of hanging', async () => {
    const s = storage();
    await s.write('dead/obj.bin', Readable.from([randomBytes(1000)]));
    faults.push({ match: isGet('dead/obj.bin'), times: 100, act: stallMidBody });
    const err = await s.read('dead/obj.bin', { expectedSize: 1000 }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/no byte for 1500 ms/);
  });

  it('R-SCALE-1 delete by prefix sends DeleteObjects batches of 1,000 keys, not one request per key', async () => {
    const s = storage({ prefix: 'inst' });
    for (let i = 0; i < 1300; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) => s.write(`many/${i + k}.txt`, Readable.from([Buffer.from('x')]))),
      );
    }
    const before = answered.length;
    await s.deletePrefix('many/');
    const sent = answered.slice(before);
    // Two successful DeleteObjects (1,000 + 300 keys); s3rver sometimes fails one under load, which is retried.
    expect(
      sent.filter((r) => r.startsWith('POST') && r.includes('delete') && r.endsWith(' 200')).length,
      sent.join('\n'),
    ).to.equal(2);
    expect(sent.filter((r) => r.startsWith('DELETE')).length).to.equal(0);
    let left = 0;
    for await (const _ of s.list('many/')) left++;
    expect(left).to.equal(0);
  });

  it('R-SCALE-1 wrong credentials fail readiness without the secret in the error', async () => {
    const s = storage({ accessKeyId: 'UNKNOWN', secretAccessKey: 'TOPSECRET-s3-key-123' });
    const err = await s.check().then(
      () => null,
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(Error);
    expect(`${String(err)} ${err?.stack} ${JSON.stringify(err)}`).not.to.include('TOPSECRET');
  });
});
