import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { type ExportedObject, removeInvalidXmlChars } from '../../../server/domain/produce/index.js';
import { makeObject, parseXml, produceCsv, produceJson, produceXml } from './helpers.js';
import { runs } from '../../helpers/thorough.js';
import { anyText } from '../../helpers/text-arbitraries.js';

const SYSTEM = ['_id', '_objecttype', '_version', '_created_at', '_changed_at'];

// Characters that stress CSV quoting plus ordinary and multi-byte text.
const tricky = fc.constantFrom(
  ',',
  ';',
  '|',
  '\t',
  '"',
  "'",
  '\\',
  '\r',
  '\n',
  ' ',
  'a',
  'Z',
  'é',
  '中',
  '😀',
  '\u00A0',
);
const cellText = fc.oneof(fc.string({ unit: tricky, maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 }));
const key = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'x', 'y', 'é', '-', ' '), minLength: 1, maxLength: 4 });
const csvOptions = fc.record({
  delimiter: fc.constantFrom(',', ';', '\t', '|'),
  quote: fc.constantFrom('"', "'"),
  escape: fc.constantFrom(undefined, '\\'),
  use_bom: fc.boolean(),
});

const objectsOf = (dataArb: fc.Arbitrary<Record<string, unknown>>) =>
  fc
    .array(fc.tuple(dataArb, fc.constantFrom('photo', 'video')), { maxLength: 8 })
    .map((items): ExportedObject[] => items.map(([data, type], i) => makeObject(i + 1, data, type)));

const normalize = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe('produce/round-trip (property)', () => {
  it('R-OUT-3 CSV round-trips random flat objects with random delimiter/quote/escape/BOM', async () => {
    const data = fc.dictionary(
      key,
      fc.oneof(cellText, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    );
    await fc.assert(
      fc.asyncProperty(objectsOf(data), csvOptions, async (objects, options) => {
        const csv = { ...options, escape: options.escape ?? options.quote };
        const { text } = await produceCsv(objects, { csv });
        const rows = parse(text, {
          delimiter: csv.delimiter,
          quote: csv.quote,
          escape: csv.escape,
          bom: true,
        }) as string[][];
        const keys = [...new Set(objects.flatMap((o) => Object.keys(o.data)))].sort((a, b) =>
          a < b ? -1 : a > b ? 1 : 0,
        );
        expect(rows[0]).to.deep.equal([...SYSTEM, ...keys]);
        expect(rows.slice(1)).to.deep.equal(
          objects.map((o) => [
            String(o._id),
            o._objecttype,
            String(o._version),
            o._created_at,
            o._changed_at,
            ...keys.map((k) => (k in o.data ? String(o.data[k]) : '')),
          ]),
        );
      }),
      { numRuns: runs(200) },
    );
  });

  it('R-OUT-3 JSON round-trips random nested objects', async () => {
    const data = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }));
    await fc.assert(
      fc.asyncProperty(objectsOf(data), async (objects) => {
        const { text } = await produceJson(objects);
        const expected = objects.map((o) => ({
          _id: o._id,
          _objecttype: o._objecttype,
          _version: o._version,
          _created_at: o._created_at,
          _changed_at: o._changed_at,
          ...o.data,
        }));
        expect(JSON.parse(text)).to.deep.equal(normalize(expected));
      }),
      { numRuns: runs(200) },
    );
  });

  it('R-OUT-3 XML round-trips random nested objects minus XML-invalid characters', async () => {
    const xmlKey = fc
      .string({ unit: 'grapheme', minLength: 0, maxLength: 6 })
      .filter((k) => k === removeInvalidXmlChars(k));
    const text = anyText(10);
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        text,
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(xmlKey, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    const clean = (v: unknown): unknown => {
      if (typeof v === 'string') return removeInvalidXmlChars(v);
      if (Array.isArray(v)) return v.map(clean);
      if (v !== null && typeof v === 'object') {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clean(x)]));
      }
      return v;
    };
    await fc.assert(
      fc.asyncProperty(objectsOf(fc.dictionary(xmlKey, value, { maxKeys: 4 })), async (objects) => {
        const xml = await produceXml(objects);
        const decoded = parseXml(xml.text);
        expect(decoded.map((d) => Number(d.id))).to.deep.equal(objects.map((o) => o._id));
        for (let i = 0; i < objects.length; i++) {
          const { _id, _objecttype, data, ...system } = objects[i];
          expect(decoded[i].fields).to.deep.equal(normalize(clean({ ...system, ...data })));
        }
      }),
      { numRuns: runs(150) },
    );
  });
});
