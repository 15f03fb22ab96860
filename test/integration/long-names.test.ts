import { expect } from 'chai';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

type Obj = Record<string, any>;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('long and hostile names in exports (issue 9, finding 6)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let token: string;
  let worker: Worker;
  let assetId: number;
  const longName = `${'ä'.repeat(120)}.png`; // 244 bytes: with `.<id>.part` appended it was beyond 255

  before(async () => {
    app = await startTestApp();
    token = (await app.login('alice')).token;
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 60_000 });
    worker.start();
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
    assetId = (
      await app.request.post('/api/v1/eas/put').query({ token, filename: longName }).type('application/octet-stream').send(png).expect(200)
    ).body._id;
    await app.request
      .put('/api/v1/db/photo')
      .query({ token })
      .send([{ _objecttype: 'photo', photo: { title: 't', image: [{ _id: assetId }] } }])
      .expect(200);
  });
  after(async () => {
    await worker.stop();
    await app.close();
  });

  const run = async (exp: Obj) => {
    const id = (await app.request.put('/api/v1/export').query({ token }).send({ export: exp }).expect(200)).body.export._id as number;
    const done = await eventually(async () => {
      const v = (await app.request.get(`/api/v1/export/${id}`).query({ token })).body as Obj;
      return v._state === 'done' || v._state === 'failed' ? v : null;
    }, 30_000);
    return { id, done };
  };

  it('an asset with a long original name is exported (it failed with "internal error")', async () => {
    const { done } = await run({ name: 'long asset', eas_fields: { 'photo.image': { files: true } }, filename_original: true });
    expect(done._state, done._failure_reason).to.equal('done');
    const file = done._files.find((f: Obj) => f.path.startsWith('files/'));
    const leaf = file.path.split('/').pop();
    expect(leaf.endsWith('.png')).to.equal(true);
    expect(bytes(leaf)).to.be.at.most(239);
  });

  it('a long filename_template is exported, cut between characters', async () => {
    const { done } = await run({
      name: 'long template',
      eas_fields: { 'photo.image': { files: true } },
      filename_template: `${'😀'.repeat(100)}-%_id%`,
    });
    expect(done._state, done._failure_reason).to.equal('done');
    const leaf = done._files.find((f: Obj) => f.path.startsWith('files/')).path.split('/').pop();
    expect(bytes(leaf)).to.be.at.most(239);
    expect(/[\uD800-\uDFFF]/u.test(leaf)).to.equal(false);
  });

  it('a 255-character emoji export name with U+202E downloads as a zip with a valid Content-Disposition', async () => {
    const name = `\u202E${'😀'.repeat(127)}`;
    const { id, done } = await run({ name, json: true });
    expect(done._state, done._failure_reason).to.equal('done');
    const r = await app.request.get(`/api/v1/export/${id}/zip`).query({ token }).buffer(true).expect(200);
    const cd = r.headers['content-disposition'] as string;
    const encoded = /filename\*=UTF-8''(.*)$/.exec(cd)![1]!;
    const fileName = decodeURIComponent(encoded);
    expect(fileName.endsWith('.zip')).to.equal(true);
    expect(fileName).to.not.include('\u202E');
    expect(bytes(fileName)).to.be.at.most(255);
    const folder = await app.request.get(`/api/v1/export/${id}/zip/json`).query({ token });
    expect(folder.status).to.be.oneOf([200, 404]);
  });
});
