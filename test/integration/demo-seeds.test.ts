import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { expect } from 'chai';
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLValidator } from 'fast-xml-parser';
import { seedDemo } from '../../seeds/demo.js';
import { DEMO_IMAGES, DEMO_PHOTOS } from '../../seeds/demo-data.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

describe('demo seeds (R-RUN-3)', function () {
  this.timeout(30_000);
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => app.close());

  it('R-RUN-3 seeds objects of two types with generated PNG assets, and the demo export produces csv, json, xml and files', async () => {
    const started = Date.now();
    expect(await seedDemo(app.db, app.config, app.exports, app.storage)).to.equal(true);
    expect(Date.now() - started).to.be.below(3000);
    const counts = (await app.db('objects').select('objecttype').count({ n: '*' }).groupBy('objecttype').orderBy('objecttype')) as {
      objecttype: string;
      n: string;
    }[];
    expect(counts.map((c) => [c.objecttype, Number(c.n)])).to.deep.equal([
      ['author', 20],
      ['photo', DEMO_PHOTOS],
    ]);
    const asset = await app.db('assets').orderBy('id').first();
    const png = await readFile(path.join(app.dataDir, 'storage', asset.storage_key));
    expect(asset).to.include({ mime_type: 'image/png', class: 'image', size: png.length });
    // A real PNG: signature, IHDR 96×64, and an IDAT that inflates to 64 rows of 1 + 96×3 bytes.
    expect(png.subarray(12, 16).toString('latin1')).to.equal('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).to.deep.equal([96, 64]);
    const idatLength = png.readUInt32BE(33);
    expect(inflateSync(png.subarray(41, 41 + idatLength)).length).to.equal(64 * (1 + 96 * 3));

    const worker = app.createWorker({ pollMs: 50, heartbeatMs: 200 });
    worker.start();
    try {
      const demo = await app.db('exports').where({ name: 'Demo photos' }).first();
      const done = await eventually(async () => {
        const row = await app.db('exports').where({ id: demo.id }).first();
        return row.state === 'done' || row.state === 'failed' ? row : null;
      }, 20_000);
      expect(done.state, done.failure_reason).to.equal('done');
      const run = await app.db('runs').where({ id: done.published_run_id }).first();
      const root = path.join(app.dataDir, 'storage', run.files_prefix);
      const files = await app.db('run_files').where({ run_id: run.id }).orderBy('ord');
      expect(files.filter((f) => f.path.startsWith('files/photo/image/'))).to.have.length(DEMO_IMAGES);
      const json = JSON.parse(await readFile(path.join(root, 'objects.json'), 'utf8'));
      expect(json).to.have.length(DEMO_PHOTOS + 20);
      const csv = parseCsv(await readFile(path.join(root, 'objects.csv')), { columns: true });
      expect(csv).to.have.length(DEMO_PHOTOS + 20);
      expect(XMLValidator.validate(await readFile(path.join(root, 'objects.xml'), 'utf8'))).to.equal(true);
    } finally {
      await worker.stop();
    }
  });
});
