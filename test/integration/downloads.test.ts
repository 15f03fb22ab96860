import { unlinkSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { passkeyMatches } from '../../server/domain/files/download-service.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { bytes } from '../helpers/archive/helpers.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { checkTarReaders, checkZipReaders, type Expected } from '../helpers/archive-readers.js';
import { FileProducer, type PlannedFile } from '../helpers/file-producer.js';
import { rawRequest } from '../helpers/raw-http.js';
import { rememberSecret } from '../helpers/log-capture.js';

const FRONTEND = 'https://ui.example';
const SMALL: PlannedFile[] = [
  { path: 'objects.csv', data: Buffer.from('id;name\n1;Äpfel\n') },
  { path: 'bilder/äpfel 😀.txt', data: Buffer.from('Grüße\n') },
  { path: 'bilder/leer.bin', data: Buffer.alloc(0) },
  { path: `tief/${'verzeichnis/'.repeat(12)}groß.bin`, data: bytes(300_000, 3) },
];
// ~25 MB for zip_10mb: three parts, files in `_files` order.
const SPLIT: PlannedFile[] = [
  ...Array.from({ length: 5 }, (_, i) => ({ path: `big/${i}.bin`, data: bytes(4 << 20, 10 + i) })),
  ...Array.from({ length: 3 }, (_, i) => ({ path: `mid/${i}.bin`, data: bytes(1_500_000, 20 + i) })),
  ...Array.from({ length: 50 }, (_, i) => ({ path: `small/ü${i}.txt`, data: Buffer.from(`small ${i}\n`) })),
  { path: 'small/leer.txt', data: Buffer.alloc(0) },
];

type Link = { url: string; size: number | null };

describe('passkey downloads (R-FILE-5, R-FILE-6, R-FILE-7, R-EXP-12)', function () {
  this.timeout(90_000);
  let app: TestApp;
  let token: string;
  let worker: Worker;
  const producer = new FileProducer();

  const binary = (res: unknown, cb: (err: Error | null, body: Buffer) => void) => {
    const parts: Buffer[] = [];
    (res as http.IncomingMessage).on('data', (c: Buffer) => parts.push(c));
    (res as http.IncomingMessage).on('end', () => cb(null, Buffer.concat(parts)));
  };
  const anon = (url: string, headers: Record<string, string> = {}) => app.request.get(url).set(headers).redirects(0).buffer(true).parse(binary);
  const view = async (id: number) => (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body;
  const create = async (name: string, plan: PlannedFile[] | ((run: number) => PlannedFile[]), transports: object[], type = 'export') => {
    producer.plans.set(name, plan);
    const body = { export: { name, type }, _transports: transports };
    return (await app.request.put('/api/v1/export').query({ token }).send(body).expect(200)).body.export._id as number;
  };
  const published = async (id: number) =>
    eventually(async () => {
      const e = await view(id);
      return e._state === 'done' && e._transports.every((t: { _state: string }) => t._state === 'done') ? e : null;
    }, 20_000);
  /** Expected archive entries: `_files` order, manifest included (its bytes read through file/). */
  const expectedOf = async (id: number, e: { _files: { path: string }[] }, plan: PlannedFile[]): Promise<Expected[]> => {
    const byPath = new Map(plan.map((f) => [f.path, f.data]));
    const out: Expected[] = [];
    for (const f of e._files) {
      const data = byPath.get(f.path) ?? (await app.request.get(`/api/v1/export/${id}/file/${f.path}`).query({ token }).buffer(true).parse(binary).expect(200)).body;
      out.push({ name: f.path, data });
    }
    return out;
  };
  const location = (key: string) => `${FRONTEND}/#server_error:${key}`;
  /** `_download` URLs are absolute (PUBLIC_URL); requests here go to the test server. */
  const linksOf = (transport: { _download: { _files: Link[] } }): Link[] =>
    transport._download._files.map((l) => ({ url: new URL(l.url).pathname, size: l.size }));

  let fotos: { id: number; links: Link[]; expected: Expected[]; passkey: string; runId: number };

  before(async () => {
    app = await startTestApp({ producers: [producer], env: { FRONTEND_URL: FRONTEND } });
    token = (await app.login('dana')).token;
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200 });
    worker.start();
    const id = await create('Fotos/Ü', SMALL, ['zip', 'tar', 'tar_gz'].map((packer) => ({ type: 'download', packer })));
    const e = await published(id);
    const links = e._transports.flatMap(linksOf);
    const { passkey } = await app.db('exports').where({ id }).first();
    rememberSecret(passkey);
    fotos = { id, links, expected: await expectedOf(id, e, SMALL), passkey, runId: e._last_run._id };
  });
  after(async () => {
    await worker?.stop();
    await app?.close();
  });

  it('R-FILE-5 R-FILE-6 R-ROB-9 zip, tar and tar.gz links name their run, serve anonymously with the announced sizes and open in every reader', async () => {
    expect(fotos.links.map((l) => l.url)).to.deep.equal(
      ['Fotos_Ü.zip', 'Fotos_Ü.tar', 'Fotos_Ü.tar.gz'].map(
        (n) => `/api/v1/export/${fotos.id}/download/${fotos.passkey}/run/${fotos.runId}/${encodeURIComponent(n)}`,
      ),
    );
    const [zip, tar, tgz] = fotos.links;
    const z = await anon(zip.url).expect(200);
    expect(z.headers['content-length']).to.equal(String(zip.size));
    expect(z.headers['content-type']).to.equal('application/zip');
    expect(z.headers['content-disposition']).to.equal(`attachment; filename="Fotos__.zip"; filename*=UTF-8''Fotos_%C3%9C.zip`);
    await checkZipReaders(z.body, fotos.expected);
    const t = await anon(tar.url).expect(200);
    expect(t.headers['content-length']).to.equal(String(tar.size));
    expect(t.headers['content-type']).to.equal('application/x-tar');
    checkTarReaders(t.body, fotos.expected);
    expect(tgz.size).to.equal(null);
    const g = await anon(tgz.url).expect(200);
    expect(g.headers['content-length']).to.equal(undefined);
    expect(g.headers['accept-ranges']).to.equal('none');
    expect(gunzipSync(g.body).equals(t.body)).to.equal(true);
    checkTarReaders(g.body, fotos.expected, true);
  });

  it('R-FILE-5 zip_10mb: standalone ZIP32 parts of at most 10 MiB, each opens on its own, together every file in order', async () => {
    const id = await create('Split', SPLIT, [{ type: 'download', packer: 'zip_10mb' }]);
    const e = await published(id);
    const links = linksOf(e._transports[0]);
    expect(links.length).to.equal(3);
    const expected = await expectedOf(id, e, SPLIT);
    let next = 0;
    for (const [k, link] of links.entries()) {
      expect(link.url).to.match(new RegExp(`/Split\\.${k + 1}\\.zip$`));
      expect(link.size).to.be.at.most(10 * 1024 * 1024);
      const r = await anon(link.url).expect(200);
      expect(r.body.length).to.equal(link.size);
      expect(r.body.readUInt32LE(r.body.length - 22)).to.equal(0x06054b50);
      expect(r.body.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).to.equal(false); // no ZIP64 end record
      const count = r.body.readUInt16LE(r.body.length - 22 + 10);
      await checkZipReaders(r.body, expected.slice(next, next + count));
      next += count;
      const h = await app.request.head(link.url).expect(200);
      expect(Number(h.headers['content-length'])).to.equal(link.size);
      const range = await anon(link.url, { Range: 'bytes=1000-1999', 'If-Range': r.headers.etag }).expect(206);
      expect(range.body.equals(r.body.subarray(1000, 2000))).to.equal(true);
    }
    expect(next).to.equal(expected.length);
  });

  it('R-FILE-3 R-FILE-6 passkey archives: HEAD equals GET, resume by Range and If-Range; tar.gz ignores Range', async () => {
    for (const link of fotos.links.slice(0, 2)) {
      const full = await anon(link.url).expect(200);
      const h = await app.request.head(link.url).expect(200);
      expect(h.headers['content-length']).to.equal(full.headers['content-length']);
      expect(h.headers.etag).to.equal(full.headers.etag);
      for (const off of [0, 1, 511, 512, 513, 1000, full.body.length - 1]) {
        const r = await anon(link.url, { Range: `bytes=${off}-`, 'If-Range': full.headers.etag }).expect(206);
        expect(Buffer.concat([full.body.subarray(0, off), r.body]).equals(full.body), `${link.url} @${off}`).to.equal(true);
      }
      await anon(link.url, { Range: 'bytes=5-', 'If-Range': '"stale"' }).expect(200);
      await anon(link.url, { Range: `bytes=${full.body.length}-` }).expect(416);
    }
    await anon(fotos.links[2].url, { Range: 'bytes=5-' }).expect(200);
  });

  it('R-FILE-9 passkey links answer under /api/v1/v1/export too, and need no session', async () => {
    const url = fotos.links[0].url.replace('/api/v1/export/', '/api/v1/v1/export/');
    const r = await anon(url).expect(200);
    expect(r.body.length).to.equal(fotos.links[0].size);
  });

  it('R-FILE-7 every download error redirects to FRONTEND_URL/#server_error:<key>', async () => {
    const base = `/api/v1/export/${fotos.id}/download`;
    const expectKey = async (url: string, key: string) => {
      const r = await rawRequest(app.server, url);
      expect(r.status, url).to.equal(302);
      expect(r.headers.location, url).to.equal(location(key));
    };
    await expectKey(`${base}/${'x'.repeat(32)}/Fotos_%C3%9C.zip`, 'export.invalid.passkey');
    await expectKey(`${base}/${fotos.passkey.slice(0, -1)}/Fotos_%C3%9C.zip`, 'export.invalid.passkey');
    await expectKey(`${base}/Fotos_%C3%9C.zip`, 'export.invalid.passkey');
    await expectKey(`/api/v1/export/999999/download/${fotos.passkey}/x.zip`, 'export.not.found');
    await expectKey(`/api/v1/export/abc/download/${fotos.passkey}/x.zip`, 'export.not.found');
    for (const name of ['nope.zip', 'Fotos_%C3%9C.1.zip', 'Fotos.zip', '..%2fFotos_%C3%9C.zip', '%E0%A4%A', '']) {
      await expectKey(`${base}/${fotos.passkey}/${name}`, 'export.file.not.found');
    }
    // Not done: the first run is still processing.
    producer.hold('Pending');
    const pending = await create('Pending', SMALL, [{ type: 'download', packer: 'zip' }]);
    await eventually(async () => (await view(pending))._state === 'processing');
    const pk = (await app.db('exports').where({ id: pending }).first()).passkey;
    await expectKey(`/api/v1/export/${pending}/download/${pk}/Pending.zip`, 'export.not.done');
    producer.release('Pending');
    await published(pending);
    await expectKey(`/api/v1/export/${pending}/download/${pk}/Pending.tar`, 'export.file.not.found');
    // Expired (R-EXP-10): a download export past its expires_at.
    const exp = await create('Expiring', SMALL, [{ type: 'download', packer: 'zip' }], 'download');
    await published(exp);
    const expRow = await app.db('exports').where({ id: exp }).first();
    await app.db('exports').where({ id: exp }).update({ expires_at: new Date(Date.now() - 1000) });
    await expectKey(`/api/v1/export/${exp}/download/${expRow.passkey}/Expiring.zip`, 'export.expired');
    await app.db('exports').where({ id: exp }).update({ published_run_id: null });
    await expectKey(`/api/v1/export/${exp}/download/${expRow.passkey}/Expiring.zip`, 'export.expired');
    // A published file missing from storage: server.error before the first byte.
    const broken = await create('Broken', SMALL, [{ type: 'download', packer: 'tar' }]);
    const b = await published(broken);
    const run = await app.db('runs').where({ id: b._last_run._id }).first();
    unlinkSync(path.join(app.dataDir, 'storage', run.files_prefix, 'objects.csv'));
    const bpk = (await app.db('exports').where({ id: broken }).first()).passkey;
    await expectKey(`/api/v1/export/${broken}/download/${bpk}/Broken.tar`, 'server.error');
  });

  it('R-EXP-12 rotating the passkey changes every link and the old ones stop working at once', async () => {
    const rotated = (await app.request.post(`/api/v1/export/${fotos.id}/passkey`).query({ token }).expect(200)).body;
    const links: Link[] = rotated._transports.flatMap(linksOf);
    expect(links.map((l) => l.size)).to.deep.equal(fotos.links.map((l) => l.size));
    for (const [k, old] of fotos.links.entries()) {
      expect(links[k].url).not.to.equal(old.url);
      const r = await anon(old.url).expect(302);
      expect(r.headers.location).to.equal(location('export.invalid.passkey'));
      await anon(links[k].url).expect(200);
    }
    fotos.links = links;
    // Issue 9 Deliver 8: the rotation is in the export's _log, without the key.
    const log = rotated._log as { type: string; info: Record<string, unknown> }[];
    expect(log[log.length - 1]).to.deep.include({ type: 'EXPORT_UPDATE', info: { passkey_rotated: true } });
    const passkey = (await app.db('exports').where({ id: fotos.id }).first()).passkey as string;
    expect(JSON.stringify(log)).not.to.include(passkey).and.not.to.include(fotos.passkey);
    fotos.passkey = passkey;
  });

  it('R-FILE-6 R-ROB-9 while a later run is processing, the last published files are served; the stable alias follows the latest run, run links keep theirs', async () => {
    const plan = (run: number) => [{ path: 'version.txt', data: Buffer.from(`run ${run}`) }];
    const id = await create('Gated', plan, [{ type: 'download', packer: 'zip' }]);
    const first = await published(id);
    const [runLink] = linksOf(first._transports[0]);
    const link = { ...runLink, url: runLink.url.replace(`/run/${first._last_run._id}/`, '/') };
    expect(link.url).not.to.equal(runLink.url);
    const v1 = await anon(link.url).expect(200);
    expect((await anon(runLink.url).expect(200)).body.equals(v1.body)).to.equal(true);
    producer.hold('Gated');
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    await eventually(async () => (await view(id))._state === 'processing');
    const during = await anon(link.url).expect(200);
    expect(during.body.equals(v1.body)).to.equal(true);
    producer.release('Gated');
    const second = await published(id);
    expect(second._last_run._id).not.to.equal(first._last_run._id);
    expect(linksOf(second._transports[0])[0].url).to.equal(runLink.url.replace(`/run/${first._last_run._id}/`, `/run/${second._last_run._id}/`));
    const v2 = await anon(link.url).expect(200);
    expect(v2.headers.etag).not.to.equal(v1.headers.etag);
    await checkZipReaders(v2.body, (await expectedOf(id, second, plan(second._last_run._id))));
    // The first run's link still serves the first run's bytes (its files are kept, PREVIOUS_RUNS_TTL).
    const old = await anon(runLink.url).expect(200);
    expect(old.body.equals(v1.body)).to.equal(true);
    expect(old.headers.etag).to.equal(v1.headers.etag);
  });

  it('R-FILE-6 bad passkeys are throttled per address: after 20 failures even a valid link answers export.too.many.attempts with Retry-After', async () => {
    await app.db('throttle').delete();
    try {
      const bad = `/api/v1/export/${fotos.id}/download/${'y'.repeat(32)}/Fotos_%C3%9C.zip`;
      for (let i = 0; i < 20; i++) expect((await rawRequest(app.server, bad)).headers.location).to.equal(location('export.invalid.passkey'));
      await rawRequest(app.server, bad); // the 21st failure starts the block
      const r = await rawRequest(app.server, fotos.links[0].url);
      expect(r.status).to.equal(302);
      expect(r.headers.location).to.equal(location('export.too.many.attempts'));
      expect(Number(r.headers['retry-after'])).to.be.within(1, 15 * 60);
    } finally {
      await app.db('throttle').delete();
    }
    await anon(fotos.links[0].url).expect(200);
  });

  it('R-FILE-6 passkey comparison: equal strings match, any difference or length does not', () => {
    expect(passkeyMatches('abc', 'abc')).to.equal(true);
    for (const other of ['abd', 'ab', 'abcd', '', 'ABC']) expect(passkeyMatches(other, 'abc')).to.equal(false);
  });
});
