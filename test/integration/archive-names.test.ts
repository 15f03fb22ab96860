import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { MAX_NAME_BYTES } from '../../server/domain/file-names.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { FileProducer } from '../helpers/file-producer.js';
import { HOSTILE_NAME } from '../helpers/hostile-names.js';

/**
 * Issue 10, item 3: one export with a hostile name (quotes, slashes, RTL controls, 300 emoji) and both a `download`
 * and a packed `directory` transport. The name of its `_download` link, of the archive the directory transport
 * delivered and of the Content-Disposition of the link (and of zip/) are one and the same.
 */
describe('archive names agree everywhere (packaging.ts)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let worker: Worker;
  let token: string;
  let userId: number;
  let outRoot: string;
  const producer = new FileProducer();

  const binary = (res: unknown, cb: (err: Error | null, body: Buffer) => void) => {
    const parts: Buffer[] = [];
    (res as http.IncomingMessage).on('data', (c: Buffer) => parts.push(c));
    (res as http.IncomingMessage).on('end', () => cb(null, Buffer.concat(parts)));
  };

  /** RFC 6266 with an ASCII fallback and an RFC 8187 `filename*`; returns the decoded UTF-8 name. */
  const dispositionName = (header: string | undefined): string => {
    const m = /^attachment; filename="([\x20-\x7e]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]*)$/.exec(
      header ?? '',
    );
    expect(m, `Content-Disposition ${header}`).to.not.equal(null);
    expect(m![1]).to.not.match(/["\\]/);
    return decodeURIComponent(m![2]);
  };

  before(async () => {
    outRoot = await mkdtemp(path.join(tmpdir(), 'em-names-'));
    app = await startTestApp({ producers: [producer], env: { TRANSPORT_DIRECTORY_ROOTS: outRoot } });
    ({ token, userId } = await app.login('namer'));
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200 });
    worker.start();
  });
  after(async () => {
    await worker?.stop();
    await app?.close();
    if (outRoot) await rm(outRoot, { recursive: true, force: true });
  });

  it('the _download link, the delivered archive and Content-Disposition carry one name for a hostile export name', async () => {
    // The API bounds names to 255 characters; older rows and seed imports can hold longer ones, so after a first
    // run the row gets the full hostile name directly, and the second run and its deliveries use it.
    const files = [{ path: 'data.txt', data: Buffer.from('hello\n') }];
    producer.plans.set('placeholder', files);
    producer.plans.set(HOSTILE_NAME, files);
    const body = {
      export: { name: 'placeholder', type: 'export' },
      _transports: [
        { type: 'download', packer: 'zip' },
        { type: 'directory', packer: 'zip', options: { path: outRoot } },
      ],
    };
    const created = await app.request.put('/api/v1/export').query({ token }).send(body).expect(200);
    const id = created.body.export._id as number;
    const settled = (notRun?: number) =>
      eventually(async () => {
        const e = (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body;
        const ready =
          e._state === 'done' &&
          e._last_run?._id !== notRun &&
          e._transports.every((t: { _state: string }) => t._state === 'done');
        return ready ? e : null;
      }, 20_000);
    const first = await settled();
    await app.db('exports').where({ id }).update({ name: HOSTILE_NAME });
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    const done = await settled(first._last_run._id);

    const [link] = done._transports[0]._download._files as { url: string; size: number }[];
    const linkName = decodeURIComponent(new URL(link.url).pathname.split('/').at(-1)!);
    expect(linkName.endsWith('😀.zip')).to.equal(true);
    expect(linkName).to.not.match(/["/\\\u202A-\u202E\u200F]/);
    expect(Buffer.byteLength(linkName)).to.be.at.most(MAX_NAME_BYTES);

    // Directory transport: <root>/<owner>/<stem>/<run timestamp>/<archive>, the archive named like the link.
    const stem = linkName.slice(0, -'.zip'.length);
    // `_state` may still show the first run's deliveries for a moment: wait for the manifest, which comes last.
    const exportDir = path.join(outRoot, String(userId), stem);
    const runDir = await eventually(async () => {
      const dirs = await readdir(exportDir).catch(() => []);
      return dirs.length === 1 && (await readdir(path.join(exportDir, dirs[0]))).includes('manifest.json')
        ? dirs[0]
        : null;
    }, 20_000);
    const delivered = (await readdir(path.join(exportDir, runDir))).sort();
    expect(delivered).to.deep.equal([linkName, 'manifest.json']);
    const deliveredBytes = await readFile(path.join(exportDir, runDir, linkName));

    const got = await app.request.get(new URL(link.url).pathname).buffer(true).parse(binary).expect(200);
    expect(dispositionName(got.headers['content-disposition'])).to.equal(linkName);
    expect(Number(got.headers['content-length'])).to.equal(link.size);
    // The delivered archive and the link's are one plan: the same bytes.
    expect(got.body.equals(deliveredBytes)).to.equal(true);

    // The owner's zip/ of the whole export defaults to the same name and, being the same archive, the same ETag.
    const zip = await app.request
      .get(`/api/v1/export/${id}/zip`)
      .query({ token })
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(dispositionName(zip.headers['content-disposition'])).to.equal(linkName);
    expect(zip.headers.etag).to.equal(got.headers.etag);
  });
});
