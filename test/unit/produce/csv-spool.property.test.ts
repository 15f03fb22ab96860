import { mkdtempSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { SpeculativeCsv } from '../../../server/domain/produce/csv-spool.js';
import { type ExportedObject, ObjectShaper } from '../../../server/domain/produce/index.js';
import { MemoryWritable, makeObject, produceCsv } from './helpers.js';
import { runs } from '../../helpers/thorough.js';

// Values that stress the CSV rules: numbers that JSON and PostgreSQL spell differently, quoting, whitespace, unicode.
const text = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'a',
    ' lead',
    'trail ',
    'x,y',
    'say "hi"',
    'a\nb',
    'a\r\nb',
    '\t',
    'é',
    '中',
    '😀',
    '\u00A0',
    "it's",
    'a\\b',
  ),
  fc.string({ maxLength: 6 }),
);
const number = fc.oneof(
  fc.constantFrom(1.0, 1e21, -0, 0.1, 0.1 + 0.2, 2 ** 53 + 2, -1.5e-7, 123456789012345680000),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const scalar = fc.oneof(text, number, fc.boolean(), fc.constant(null));
const key = fc.constantFrom('a', 'b', 'title', 'meta', 'tags', 'a.b', '_id', '_version', 'x y', 'é');
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(key, tie('node'), { maxKeys: 3 }),
  ),
})).node;
const data = fc.dictionary(key, value, { maxKeys: 5 });
// Mostly one shape with scalar values (the common case the one-pass path is for), sometimes anything.
const uniform = fc
  .tuple(
    fc.uniqueArray(key, { maxLength: 5 }),
    fc.array(fc.array(scalar, { minLength: 5, maxLength: 5 }), { maxLength: 12 }),
  )
  .map(([keys, rows]) => rows.map((values) => Object.fromEntries(keys.map((k, i) => [k, values[i]]))));
const datas = fc.oneof(uniform, fc.array(data, { maxLength: 12 }));

const csvOptions = fc.record(
  {
    delimiter: fc.constantFrom(',', ';', '\t', '|', '.', '-', '1'),
    quote: fc.constantFrom('"', "'"),
    escape: fc.constantFrom('"', '\\'),
    use_bom: fc.boolean(),
    empty_columns: fc.boolean(),
  },
  { requiredKeys: [] },
);
const fields = fc.option(
  fc.constantFrom(
    { 'photo.title': null, _version: null },
    { 'photo.meta.a': { display_name: 'A' }, 'photo.tags': null, 'video.b': null },
    { 'photo.a': null, 'photo.a.b': null, _changed_at: { display_name: 'changed' } },
  ),
  { nil: null },
);

let tmpRoot: string;

async function oneP(objects: readonly ExportedObject[], shaper: ObjectShaper, csv: object, batchSize: number) {
  const spec = new SpeculativeCsv(shaper, csv, tmpRoot);
  for (let i = 0; i < objects.length || i === 0; i += batchSize) {
    await spec.write(objects.slice(i, i + batchSize).map((o) => shaper.shape(o)));
  }
  await spec.end();
  if (spec.strayed) {
    await spec.discard();
    return null;
  }
  const out = new MemoryWritable();
  await spec.publish(out);
  return out.text;
}

describe('produce/csv-spool: one-pass CSV equals the two-pass CSV (R-OUT-3, R-PERF-3)', () => {
  before(() => {
    tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'em-spool-test-'));
  });
  after(async () => {
    await rm(tmpRoot, { recursive: true, force: true });
  });

  it('R-OUT-3 is byte-identical whenever it does not stray, for random objects, options and field selections', async () => {
    const numRuns = runs(400);
    let used = 0;
    await fc.assert(
      fc.asyncProperty(
        datas,
        fc.array(fc.constantFrom('photo', 'video'), { minLength: 12, maxLength: 12 }),
        csvOptions,
        fields,
        fc.integer({ min: 1, max: 5 }),
        async (items, types, csv, selection, batchSize) => {
          const objects = items.map((d, i) => makeObject(i + 1, JSON.parse(JSON.stringify(d)), types[i]));
          const shaper = new ObjectShaper({ fields: selection });
          const general = await produceCsv(objects, { csv, fields: selection, batchSize });
          const fast = await oneP(objects, shaper, csv, batchSize);
          if (fast !== null) {
            used++;
            expect(fast).to.equal(general.text);
          }
        },
      ),
      { numRuns },
    );
    // The property must not hold vacuously: most uniform inputs take the one-pass path.
    expect(used).to.be.greaterThan(numRuns / 4);
    expect(await readdir(tmpRoot)).to.deep.equal([]);
  });

  it('strays when a column or a filled cell first appears after the first batch', async () => {
    const shaper = new ObjectShaper();
    const later = [makeObject(1, { a: 1 }), makeObject(2, { a: 2, b: 'new' })];
    expect(await oneP(later, shaper, {}, 1)).to.equal(null);
    const filledLater = [makeObject(1, { a: 1, b: '' }), makeObject(2, { a: 2, b: 'x' })];
    expect(await oneP(filledLater, shaper, { empty_columns: false }, 1)).to.equal(null);
    // Empty cells of a column unknown to the guess are fine when the column stays empty (it is dropped anyway).
    const emptyLater = [makeObject(1, { a: 1 }), makeObject(2, { a: 2, b: '' })];
    expect(await oneP(emptyLater, shaper, { empty_columns: false }, 1)).to.equal(
      (await produceCsv(emptyLater, { csv: { empty_columns: false } })).text,
    );
  });

  it('refuses shapers that attach asset paths (their column pass sees more than the rows)', () => {
    const shaper = new ObjectShaper({ eas_fields: { 'photo.image': { files: true } } });
    expect(() => new SpeculativeCsv(shaper, true, tmpRoot)).to.throw();
  });
});
