import { expect } from 'chai';
import fc from 'fast-check';
import { FastColumnCollector, shapeSignature } from '../../../server/domain/produce/fast-columns.js';
import { ColumnCollector, ObjectShaper } from '../../../server/domain/produce/index.js';
import { isoFromPgUtc } from '../../../server/domain/produce/object-source.js';
import { runs } from '../../helpers/thorough.js';

/** PostgreSQL's jsonb text output: `{"a": 1, "b": [1, 2]}`. */
function jsonbText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jsonbText).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}: ${jsonbText(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}

const key = fc.constantFrom('a', 'b', '_id', 'title', 'meta', 'x-y', 'n1');
const scalar = fc.oneof(
  fc.constantFrom('', 'x', 'a, "b": 1', '1, 2]', '\n', ' '),
  fc.string(),
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, tie('node'), { maxKeys: 3 })),
})).node;
const data = fc.dictionary(key, value, { maxKeys: 4 });

describe('CSV column pass over raw rows (R-OUT-3, R-PERF-3)', () => {
  it('R-OUT-3 gives exactly the columns and emptiness of ColumnCollector over parsed objects', () => {
    fc.assert(
      fc.property(fc.array(data, { maxLength: 6 }), fc.boolean(), (objects, withEas) => {
        const options = withEas ? { eas_fields: { 'photo.a': { files: true }, 'photo.meta.b': { files: true } } } : {};
        const slow = new ColumnCollector(new ObjectShaper(options));
        const fast = new FastColumnCollector(new ObjectShaper(options));
        objects.forEach((o, i) => {
          const d = JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
          slow.add([{ _id: i + 1, _objecttype: 'photo', _version: 1, _created_at: 't', _changed_at: 't', data: d }]);
          fast.addRows([{ objecttype: 'photo', data: jsonbText(d) }]);
        });
        expect(fast.columns()).to.deep.equal(slow.columns());
      }),
      { numRuns: runs(300) },
    );
  });

  it('keeps keys and replaces values by stand-ins', () => {
    expect(shapeSignature('{"a": "", "b": "x, \\"y\\": 2", "n": 12, "f": -1.5, "t": true, "img": [{"_id": 7}]}')).to.equal(
      '{"a": "", "b": "x", "n": 1, "f": 0.5, "t": true, "img": [{"_id": 1}]}',
    );
  });

  it('converts PostgreSQL UTC timestamp text to ISO 8601 with milliseconds', () => {
    expect(isoFromPgUtc('2026-11-22 10:00:00.123456+00')).to.equal('2026-11-22T10:00:00.123Z');
    expect(isoFromPgUtc('2026-11-22 10:00:00.7+00')).to.equal('2026-11-22T10:00:00.700Z');
    expect(isoFromPgUtc('2026-11-22 10:00:00+00')).to.equal('2026-11-22T10:00:00.000Z');
  });
});
