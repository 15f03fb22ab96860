import type { Writable } from 'node:stream';
import { expect } from 'chai';
import { JsonPerObjectWriter, ObjectShaper } from '../../../server/domain/produce/index.js';
import { MemoryWritable, makeObject, produceJson } from './helpers.js';

const tricky = {
  title: 'quote " backslash \\ newline \n CR \r tab \t emoji 😀 Ünïcödé',
  lone: 'broken \uD800 surrogate',
  n: 1.5e300,
  neg: -42,
  ok: false,
  nothing: null,
  meta: { width: 640, deep: { list: [1, 'two', null, { three: 3 }] } },
};

describe('produce/json-writer', () => {
  it('R-OUT-3 JSON is an array of objects with identity and system attributes first', async () => {
    const objects = [makeObject(1, tricky), makeObject(2, {}, 'video')];
    const { text } = await produceJson(objects);
    const parsed = JSON.parse(text);
    expect(parsed).to.deep.equal([
      {
        _id: 1,
        _objecttype: 'photo',
        _version: 1,
        _created_at: '2026-01-01T00:00:00Z',
        _changed_at: '2026-01-02T00:00:00Z',
        ...tricky,
      },
      {
        _id: 2,
        _objecttype: 'video',
        _version: 1,
        _created_at: '2026-01-01T00:00:00Z',
        _changed_at: '2026-01-02T00:00:00Z',
      },
    ]);
    expect(Object.keys(parsed[0]).slice(0, 5)).to.deep.equal([
      '_id',
      '_objecttype',
      '_version',
      '_created_at',
      '_changed_at',
    ]);
    expect(text.split('\n')).to.have.length(5);
  });

  it('R-OUT-3 empty JSON export is a valid empty array', async () => {
    const { text } = await produceJson([]);
    expect(JSON.parse(text)).to.deep.equal([]);
  });

  it('R-OUT-2 JSON asset references get _path next to _id when the file was copied', async () => {
    const objects = [makeObject(5, { image: [{ _id: 7 }, { _id: 8 }], other: [{ _id: 7 }] })];
    const { text } = await produceJson(objects, {
      eas_fields: { 'photo.image': { files: true }, 'photo.other': { files: false } },
      assetPaths: (objectId, field, assetId) =>
        objectId === 5 && field === 'image' && assetId === 7 ? 'files/photo/image/7-a.jpg' : undefined,
    });
    const [object] = JSON.parse(text);
    expect(object.image).to.deep.equal([{ _id: 7, _path: 'files/photo/image/7-a.jpg' }, { _id: 8 }]);
    expect(object.other).to.deep.equal([{ _id: 7 }]);
    expect(objects[0].data.image).to.deep.equal([{ _id: 7 }, { _id: 8 }]);
  });

  it('R-DATA-4 JSON with fields keeps selected nesting and applies display_name', async () => {
    const objects = [makeObject(1, { title: 'T', meta: { width: 3, height: 4, dpi: 72 }, secret: 'x' })];
    const { text } = await produceJson(objects, {
      fields: { 'photo.meta.width': {}, 'photo.meta.height': {}, 'photo.title': { display_name: 'Titel' } },
    });
    expect(JSON.parse(text)).to.deep.equal([
      { _id: 1, _objecttype: 'photo', meta: { width: 3, height: 4 }, Titel: 'T' },
    ]);
  });

  it('R-ENG-6 JSON writer respects backpressure and keeps content intact', async () => {
    const objects = Array.from({ length: 2000 }, (_, i) => makeObject(i + 1, { n: i, s: 'y'.repeat(100) }));
    const { text, out } = await produceJson(objects, { slow: true, batchSize: 250 });
    expect(out.drains).to.be.greaterThan(0);
    const parsed = JSON.parse(text);
    expect(parsed).to.have.length(2000);
    expect(parsed[1999].n).to.equal(1999);
  });

  it('R-OUT-1 one JSON file per object at json/<objecttype>/<_id>.json', async () => {
    const files = new Map<string, MemoryWritable>();
    const open = (path: string): Writable => {
      const out = new MemoryWritable(true);
      files.set(path, out);
      return out;
    };
    const shaper = new ObjectShaper();
    const writer = new JsonPerObjectWriter(open, { concurrency: 3 });
    const objects = Array.from({ length: 10 }, (_, i) => makeObject(i + 1, { i }, i % 2 ? 'video' : 'photo'));
    await writer.write(objects.map((o) => shaper.shape(o)));
    await writer.end();
    expect([...files.keys()].sort()).to.deep.equal(objects.map((o) => `json/${o._objecttype}/${o._id}.json`).sort());
    const seven = JSON.parse(files.get('json/photo/7.json')!.text);
    expect(seven).to.include({ _id: 7, _objecttype: 'photo', i: 6 });
  });

  it('R-ENG-6 per-object writer surfaces a failing file instead of swallowing it', async () => {
    const writer = new JsonPerObjectWriter(() => {
      throw new Error('disk full');
    });
    const shaper = new ObjectShaper();
    let error: unknown = null;
    try {
      await writer.write([shaper.shape(makeObject(1, {}))]);
      await writer.end();
    } catch (e) {
      error = e;
    }
    expect(error).to.have.property('message', 'disk full');
  });
});
