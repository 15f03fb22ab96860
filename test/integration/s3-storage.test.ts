import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import supertest from 'supertest';
import { composeServices } from '../../server/compose.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { createLogger } from '../../server/infra/logger.js';
import { S3Storage } from '../../server/infra/storage/s3-storage.js';
import { type S3TestServer, startS3Server } from './transports/servers/s3-server.js';
import { filesBelow } from './storage/storage-suite.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

type Obj = Record<string, any>;

const BUCKET = 'exports';
const s3Env = (endpoint: string, prefix: string) => ({
  STORAGE: 's3',
  S3_ENDPOINT: endpoint,
  S3_BUCKET: BUCKET,
  S3_PREFIX: prefix,
  S3_FORCE_PATH_STYLE: 'true',
  S3_ACCESS_KEY_ID: 'S3RVER',
  S3_SECRET_ACCESS_KEY: 'S3RVER',
});

/** `npm run storage -- …` as a real process; resolves with its exit code and output. */
const storageCli = (args: string[], env: Record<string, string>) =>
  new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli/storage.ts', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });

describe('STORAGE=s3: an export with assets produced, published and downloaded from an S3 bucket (R-SCALE-1)', function () {
  this.timeout(120_000);
  const s3dir = mkdtempSync(path.join(os.tmpdir(), 'em-s3-app-'));
  let s3: S3TestServer;
  let app: TestApp;
  let token: string;
  let worker: Worker;
  let exportId: number;
  let zipFromS3: Buffer;
  const big = randomBytes(11 * 1024 * 1024 + 333);
  const small = Buffer.from('a small text asset\n');

  before(async () => {
    s3 = await startS3Server(s3dir, BUCKET);
    app = await startTestApp({ env: s3Env(s3.endpoint, 'em') });
    token = (await app.login('alice')).token;
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 60_000 });
    worker.start();
  });
  after(async () => {
    await worker?.stop();
    await app?.close();
    await s3?.close();
    await rm(s3dir, { recursive: true, force: true });
  });

  const upload = async (name: string, bytes: Buffer) =>
    (
      await app.request
        .post('/api/v1/eas/put')
        .query({ token, filename: name })
        .type('application/octet-stream')
        .send(bytes)
        .expect(200)
    ).body;

  it('R-SCALE-1 uploads stream to the bucket (multipart for big ones), the run publishes there, nothing lands in DATA_DIR', async () => {
    const bigAsset = await upload('big.bin', big);
    const smallAsset = await upload('note.txt', small);
    const emptyAsset = await upload('empty.txt', Buffer.alloc(0));
    expect(s3.events).to.include(
      `multipart:em/${(await app.db('assets').where({ id: bigAsset._id }).first()).storage_key}`,
    );
    await app.request
      .put('/api/v1/db/photo')
      .query({ token })
      .send([
        { _objecttype: 'photo', photo: { title: 'big one', image: [{ _id: bigAsset._id }, { _id: emptyAsset._id }] } },
        { _objecttype: 'photo', photo: { title: 'small one', image: [{ _id: smallAsset._id }] } },
      ])
      .expect(200);
    const created = await app.request
      .put('/api/v1/export')
      .query({ token })
      .send({
        export: {
          name: 'on s3',
          csv: true,
          json: true,
          json_one_file_per_object: true,
          eas_fields: { 'photo.image': { files: true } },
        },
      })
      .expect(200);
    exportId = created.body.export._id;
    const done = await eventually(async () => {
      const v = (await app.request.get(`/api/v1/export/${exportId}`).query({ token }).expect(200)).body;
      return v._state === 'done' || v._state === 'failed' ? v : null;
    }, 60_000);
    expect(done._state, done._failure_reason).to.equal('done');
    const bigPath = `files/photo/image/${bigAsset._id}-big.bin`;
    expect(done._files.map((f: Obj) => f.path)).to.include.members([bigPath, 'objects.csv', 'manifest.json']);
    expect(await filesBelow(path.join(app.dataDir, 'storage')), 'nothing stored locally').to.deep.equal([]);
    const inBucket = await filesBelow(path.join(s3dir, BUCKET));
    expect(inBucket.some((f) => f.startsWith(`em/exports/${exportId}/runs/`))).to.equal(true);

    // file/: whole, and a range crossing several ranged GETs.
    const whole = await app.request
      .get(`/api/v1/export/${exportId}/file/${bigPath}`)
      .query({ token })
      .buffer(true)
      .expect(200);
    expect(Buffer.compare(whole.body, big)).to.equal(0);
    const part = await app.request
      .get(`/api/v1/export/${exportId}/file/${bigPath}`)
      .query({ token })
      .set('Range', 'bytes=1000000-9000000')
      .buffer(true)
      .expect(206);
    expect(Buffer.compare(part.body, big.subarray(1_000_000, 9_000_001))).to.equal(0);
  });

  it('R-SCALE-1 zip/ from S3: complete, resumable at any offset, and byte-identical to the same run served from local storage', async () => {
    const url = `/api/v1/export/${exportId}/zip`;
    const get = (range?: string) => {
      const r = app.request
        .get(url)
        .query({ token })
        .buffer(true)
        .parse((res, cb) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => cb(null, Buffer.concat(chunks)));
        });
      return range ? r.set('Range', range) : r;
    };
    zipFromS3 = (await get().expect(200)).body;
    expect(zipFromS3.length).to.be.greaterThan(big.length);
    expect(zipFromS3.includes(big.subarray(0, 4096))).to.equal(true);
    for (const cut of [1, 5000, big.length / 2, zipFromS3.length - 30]) {
      const at = Math.floor(cut);
      const head = (await get(`bytes=0-${at - 1}`).expect(206)).body;
      const tail = (await get(`bytes=${at}-`).expect(206)).body;
      expect(Buffer.compare(Buffer.concat([head, tail]), zipFromS3), `cut at ${at}`).to.equal(0);
    }

    // The same database served from a local folder holding the bucket's objects: the same bytes.
    const copy = await storageCli(['copy', '--to', 'local'], {
      DATA_DIR: app.dataDir,
      ...s3Env(s3.endpoint, 'em'),
      STORAGE: 'local',
    });
    expect(copy.code, copy.out).to.equal(0);
    expect(copy.out).to.match(/done: \d+ copied .* 0 failed/);
    const local = composeServices({ ...app.config, STORAGE: 'local' }, app.db, createLogger('silent'));
    const fromLocal = await supertest(local.app.callback())
      .get(url)
      .query({ token })
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(Buffer.compare(fromLocal.body, zipFromS3)).to.equal(0);
  });

  it('R-SCALE-1 npm run storage -- copy --to s3 copies and verifies every object, and a re-run after an interruption redoes only what is wrong', async () => {
    const env = { DATA_DIR: app.dataDir, ...s3Env(s3.endpoint, 'moved'), STORAGE: 'local' };
    const first = await storageCli(['copy', '--to', 's3'], env);
    expect(first.code, first.out).to.equal(0);
    const localFiles = await filesBelow(path.join(app.dataDir, 'storage'));
    expect(first.out).to.include(`done: ${localFiles.length} copied`);
    expect(first.out).not.to.include('S3RVER');

    // As if interrupted: one object missing in the bucket, another damaged with the same size.
    const target = new S3Storage({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: BUCKET,
      prefix: 'moved',
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
    try {
      const keys: string[] = [];
      for await (const o of target.list('')) keys.push(o.key);
      expect(keys.sort()).to.deep.equal([...localFiles].sort());
      const csvKey = keys.find((k) => k.endsWith('objects.csv')) as string;
      const damaged = readFileSync(path.join(app.dataDir, 'storage', csvKey));
      damaged[0] ^= 0xff;
      await target.write(csvKey, Readable.from([damaged]));
      await target.delete(keys.find((k) => k.endsWith('manifest.json')) as string);

      const again = await storageCli(['copy', '--to', 's3'], env);
      expect(again.code, again.out).to.equal(0);
      expect(again.out).to.include(`done: 2 copied`);
      expect(again.out).to.include(`${localFiles.length - 2} already there and verified, 0 failed`);

      // The moved installation serves the same zip.
      const moved = composeServices({ ...app.config, S3_PREFIX: 'moved' }, app.db, createLogger('silent'));
      try {
        const r = await supertest(moved.app.callback())
          .get(`/api/v1/export/${exportId}/zip`)
          .query({ token })
          .buffer(true)
          .parse((res, cb) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => cb(null, Buffer.concat(chunks)));
          })
          .expect(200);
        expect(Buffer.compare(r.body, zipFromS3)).to.equal(0);
      } finally {
        await moved.storage.close?.();
      }
    } finally {
      await target.close();
    }
  });

  it('R-SCALE-1 deleting the export removes its objects from the bucket', async () => {
    await app.request
      .delete(`/api/v1/export/${exportId}`)
      .query({ token })
      .expect((r) => expect(r.status).to.be.oneOf([200, 204]));
    await eventually(
      async () => !(await filesBelow(path.join(s3dir, BUCKET))).some((f) => f.startsWith(`em/exports/${exportId}/`)),
    );
  });
});
