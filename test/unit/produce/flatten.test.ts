import { expect } from 'chai';
import { ColumnCollector, flattenFields, ObjectShaper } from '../../../server/domain/produce/index.js';
import { makeObject } from './helpers.js';

const cells = (fields: Record<string, unknown>) => Object.fromEntries(flattenFields(fields));

describe('produce/flatten', () => {
  it('R-OUT-3 flattens nested objects to dotted names and scalars to text', () => {
    expect(cells({ a: { b: { c: 1 } }, t: true, f: false, n: null, s: 'x', e: {}, l: [] })).to.deep.equal({
      'a.b.c': '1',
      t: 'true',
      f: 'false',
      n: '',
      s: 'x',
      e: '',
      l: '',
    });
  });

  it('R-OUT-3 arrays of objects: one column per sub-field, lines aligned by element', () => {
    const image = [{ _id: 1, _path: 'p1' }, { _id: 2 }, { _id: 3, _path: 'p3', extra: { k: 'v' } }];
    expect(cells({ image })).to.deep.equal({
      'image._id': '1\n2\n3',
      'image._path': 'p1\n\np3',
      'image.extra.k': '\n\nv',
    });
    expect(cells({ mixed: ['s', { k: 1 }, null] })).to.deep.equal({ mixed: 's\n\n', 'mixed.k': '\n1\n' });
  });

  it('R-OUT-3 joins two sources of one column instead of losing one', () => {
    expect(cells({ 'a.b': 'dotted', a: { b: 'nested' } })).to.deep.equal({ 'a.b': 'dotted\nnested' });
  });

  it('R-OUT-3 column order: system first, then data sorted by group and name, independent of row order', () => {
    const shaper = new ObjectShaper();
    const forward = new ColumnCollector(shaper);
    const backward = new ColumnCollector(shaper);
    const objects = [
      makeObject(1, { zeta: 1, meta: { w: 1 } }),
      makeObject(2, { alpha: 1, meta: { a: 1 }, 'meta-x': 1 }),
    ];
    forward.add(objects);
    backward.add([...objects].reverse());
    const names = forward.columns().map((c) => c.name);
    expect(names).to.deep.equal([
      '_id',
      '_objecttype',
      '_version',
      '_created_at',
      '_changed_at',
      'alpha',
      'meta.a',
      'meta.w',
      'meta-x',
      'zeta',
    ]);
    expect(backward.columns()).to.deep.equal(forward.columns());
  });

  it('R-DATA-4 with fields, column groups follow the order of fields', () => {
    const shaper = new ObjectShaper({
      fields: { 'photo.zeta': {}, 'photo.meta': {}, 'photo.alpha': { display_name: 'A' } },
    });
    const collector = new ColumnCollector(shaper);
    collector.add([makeObject(1, { alpha: 1, meta: { y: 1, x: 2 }, zeta: 3 })]);
    expect(collector.columns().map((c) => c.name)).to.deep.equal([
      '_id',
      '_objecttype',
      'zeta',
      'meta.x',
      'meta.y',
      'A',
    ]);
  });

  it('R-OUT-2 the column pass discovers _path columns before any file is copied', () => {
    const shaper = new ObjectShaper({ eas_fields: { 'photo.image': { files: true } } });
    const collector = new ColumnCollector(shaper);
    collector.add([makeObject(1, { image: [{ _id: 5 }] })]);
    const path = collector.columns().find((c) => c.name === 'image._path');
    expect(path).to.deep.equal({ name: 'image._path', source: 'field', empty: false });
  });
});
