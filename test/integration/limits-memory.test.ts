import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { ObjectSource, SizeQueue } from '../../server/domain/produce/object-source.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

type Obj = Record<string, any>;

describe('bounded memory: object size limit and byte-bounded batches (R-ROB-8)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let token: string;
  let userId: number;
  let worker: Worker;
  const put = (items: Obj[]) =>
    app.request.put('/api/v1/db/note').query({ token }).send(items.map((note) => ({ _objecttype: 'note', note })));

  before(async () => {
    app = await startTestApp({ env: { OBJECT_MAX_BYTES: '400000', BATCH_MAX_BYTES: '1000000' } });
    ({ token, userId } = await app.login('alice'));
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 60_000 });
    // 40 objects: every fourth one ~300 kB, the rest tiny, so a count-only batch of 1000 would hold ~3 MB.
    const items = Array.from({ length: 40 }, (_, i) => ({ i, text: i % 4 === 0 ? 'x'.repeat(300_000) : `small ${i}` }));
    await put(items).expect(200);
  });
  after(async () => {
    await worker.stop();
    await app.close();
  });

  it('OBJECT_MAX_BYTES: a bigger object answers 400 naming it, and nothing of the request is stored', async () => {
    const before = Number((await app.db('objects').count({ n: '*' }))[0].n);
    const r = await put([{ text: 'fine' }, { text: 'y'.repeat(400_001) }]).expect(400);
    expect(r.body).to.include({ realm: 'api', code: 'error.api.invalid_value' });
    expect(r.body.parameters).to.include({ path: '[1].note', limit: 400000 });
    expect(r.body.parameters.size).to.be.greaterThan(400000);
    expect(r.body.description).to.match(/at most 400000 bytes/);
    expect(Number((await app.db('objects').count({ n: '*' }))[0].n)).to.equal(before);
    await put([{ text: 'y'.repeat(399_000) }]).expect(200);
    await app.db('objects').whereRaw('data_bytes > 350000').delete();
  });

  it('batches hold at most BATCH_MAX_BYTES of objects (a bigger one alone), in order, every object once', async () => {
    const all = (await app.db('objects').where({ owner_id: userId }).orderBy('id').select('id')).map((r) => Number(r.id));
    for (const shapeOnly of [false, true]) {
      await app.db.transaction(
        async (trx) => {
          const source = new ObjectSource(trx, { ownerId: userId, search: { objecttypes: [], search: [], sort: [] }, since: null });
          const seen: number[] = [];
          const batchBytes: number[] = [];
          for await (const rows of source.batches(1000, new AbortController().signal, shapeOnly, 700_000)) {
            const bytes = rows.reduce((sum, r) => sum + Buffer.byteLength(r.data), 0);
            batchBytes.push(bytes);
            expect(bytes <= 700_000 || rows.length === 1, `batch of ${rows.length} rows, ${bytes} bytes`).to.equal(true);
            if (!shapeOnly) seen.push(...rows.map((r) => Number(r.id)));
            else seen.push(...rows.map(() => 0));
          }
          expect(seen.length).to.equal(all.length);
          if (!shapeOnly) expect(seen).to.deep.equal(all);
          // Two 300 kB objects (plus small ones) per batch: 10 big ones → 5 batches.
          expect(batchBytes.length, JSON.stringify(batchBytes)).to.equal(5);
        },
        { isolationLevel: 'repeatable read', readOnly: true },
      );
    }
  });

  it('an owner without objects above 8 KiB is batched by count alone, still within the byte budget', async () => {
    const bob = await app.login('bob');
    const items = Array.from({ length: 30 }, (_, i) => ({ _objecttype: 'note', note: { i, text: 'z'.repeat(5000) } }));
    await app.request.put('/api/v1/db/note').query({ token: bob.token }).send(items).expect(200);
    const all = (await app.db('objects').where({ owner_id: bob.userId }).orderBy('id').select('id')).map((r) => Number(r.id));
    await app.db.transaction(
      async (trx) => {
        const source = new ObjectSource(trx, { ownerId: bob.userId, search: { objecttypes: [], search: [], sort: [] }, since: null });
        const seen: number[] = [];
        for await (const rows of source.batches(1000, new AbortController().signal, false, 80_000)) {
          // Two batches (one prefetched) of at most 8 KiB objects within 80,000 bytes: 4 objects a batch.
          expect(rows.length).to.be.at.most(4);
          expect(rows.reduce((sum, r) => sum + Buffer.byteLength(r.data), 0)).to.be.at.most(40_000);
          if (seen.length === 0) {
            // No second cursor is needed for them (while the pass runs, its object cursor is open).
            const open = (await trx.raw('select name from pg_cursors')).rows.map((r: { name: string }) => r.name);
            expect(open.some((name: string) => name.startsWith('export_objects_'))).to.equal(true);
            expect(open.some((name: string) => name.startsWith('export_sizes_'))).to.equal(false);
          }
          seen.push(...rows.map((r) => Number(r.id)));
        }
        expect(seen).to.deep.equal(all);
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  });

  it('SizeQueue cuts by count and bytes and never returns an empty batch while rows are left', async () => {
    const sizes = [5, 5, 20, 1, 1, 1, 1, 100, 2];
    let at = 0;
    const q = new SizeQueue(async (n) => {
      const out = sizes.slice(at, at + n);
      at += out.length;
      return out;
    }, 4);
    const counts: number[] = [];
    for (;;) {
      const { count: n } = await q.take(3, 10);
      if (n === 0) break;
      counts.push(n);
    }
    expect(counts).to.deep.equal([2, 1, 3, 1, 1, 1]);
  });

  it('a run with BATCH_MAX_BYTES below its objects still writes every object to CSV, JSON and XML', async () => {
    worker.start();
    const id = (await app.request.put('/api/v1/export').query({ token }).send({ export: { csv: true, json: true, xml: true } }).expect(200))
      .body.export._id;
    const done = await eventually(async () => {
      const v = (await app.request.get(`/api/v1/export/${id}`).query({ token })).body as Obj;
      return v._state === 'done' || v._state === 'failed' ? v : null;
    }, 30_000);
    expect(done._state, done._failure_reason).to.equal('done');
    const exp = await app.db('exports').where({ id }).first();
    const run = await app.db('runs').where({ id: exp.published_run_id }).first();
    const json = JSON.parse(await readFile(path.join(app.dataDir, 'storage', run.files_prefix, 'objects.json'), 'utf8'));
    expect(json.map((o: Obj) => o.i)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
    expect(json[4].text.length).to.equal(300_000);
  });
});
