import { expect } from 'chai';
import fc from 'fast-check';
import { AppError } from '../../../server/domain/errors.js';
import { SEARCH_LIMITS } from '../../../server/domain/search/limits.js';
import { parseSearchDefinition } from '../../../server/domain/search/parse.js';
import { runs } from '../../helpers/thorough.js';

/** Runs the parser and returns the AppError it throws (fails the test when it does not throw one). */
const errorOf = (input: unknown, base?: string): AppError => {
  try {
    parseSearchDefinition(input, base);
  } catch (e) {
    expect(e).to.be.instanceOf(AppError);
    return e as AppError;
  }
  expect.fail('expected parseSearchDefinition to throw');
};
const expectError = (input: unknown, code: string, path: string) => {
  const e = errorOf(input);
  expect({ code: e.code, path: e.parameters.path, status: e.status }).to.deep.equal({
    code: `error.api.${code}`,
    path,
    status: 400,
  });
};
const one = (element: unknown, objecttypes = ['photo']) => ({ objecttypes, search: [element] });
const nest = (levels: number): unknown => {
  let el: unknown = { type: 'in', fields: ['photo.a'], in: [1] };
  for (let i = 1; i < levels; i++) el = { type: 'complex', search: [el] };
  return el;
};

describe('search definition parser', () => {
  it('R-DATA-3 fills defaults: empty lists, bool must, mode fulltext, sort ASC', () => {
    expect(parseSearchDefinition({})).to.deep.equal({ objecttypes: [], search: [], sort: [] });
    const def = parseSearchDefinition({
      objecttypes: ['photo'],
      search: [{ type: 'match', fields: ['photo.title'], string: 'sun' }],
      sort: [{ field: 'photo.title' }],
      limit: 10,
      offset: 20,
    });
    expect(def.search[0]).to.deep.equal({
      type: 'match',
      bool: 'must',
      fields: ['photo.title'],
      string: 'sun',
      mode: 'fulltext',
    });
    expect(def.sort).to.deep.equal([{ field: 'photo.title', order: 'ASC' }]);
    expect(def).to.include({ limit: 10, offset: 20 });
  });

  it('R-DATA-3 accepts every element type, nested complex and system fields', () => {
    const def = parseSearchDefinition({
      objecttypes: ['photo', 'video'],
      search: [
        { type: 'in', fields: ['_id', 'photo.tags', 'video.image._id'], in: [1, 'a', true, null], bool: 'should' },
        { type: 'range', field: 'photo.meta.width', from: 1, to: 2.5 },
        { type: 'range', field: '_changed_at', from: '2024-01-01', to: '2024-02-01T10:00:00Z' },
        { type: 'changed_since', from: '2024-01-01T00:00:00+02:00', bool: 'must_not' },
        { type: 'complex', search: [{ type: 'match', fields: ['video.title'], string: 'a*b', mode: 'wildcard' }] },
      ],
    });
    expect(def.search).to.have.length(5);
  });

  it('R-DATA-3 uses the base path given by the caller', () => {
    const e = errorOf({ bogus: 1 }, 'export.search');
    expect(e.parameters.path).to.equal('export.search.bogus');
  });

  describe('error codes and paths', () => {
    it('R-DATA-3 unknown attribute -> attribute_not_accepted (top level and nested)', () => {
      expectError({ search: [], bogus: 1 }, 'attribute_not_accepted', 'search.bogus');
      expectError(
        one({
          type: 'complex',
          search: [
            { type: 'in', fields: ['photo.a'], in: [1] },
            { type: 'changed_since', from: '2024-01-01', x: 1 },
          ],
        }),
        'attribute_not_accepted',
        'search.search[0].search[1].x',
      );
      expectError({ sort: [{ field: '_id', dir: 'ASC' }] }, 'attribute_not_accepted', 'search.sort[0].dir');
    });

    it('R-DATA-3 wrong type -> type_mismatch', () => {
      expectError('select 1', 'type_mismatch', 'search');
      expectError(null, 'type_mismatch', 'search');
      expectError({ search: 5 }, 'type_mismatch', 'search.search');
      expectError({ search: ['x'] }, 'type_mismatch', 'search.search[0]');
      expectError(one({ type: 'in', fields: 'photo.a', in: [1] }), 'type_mismatch', 'search.search[0].fields');
      expectError(
        one({ type: 'in', fields: ['photo.a'], in: [1, { x: 1 }] }),
        'type_mismatch',
        'search.search[0].in[1]',
      );
      expectError(one({ type: 'range', field: 'photo.a', from: true }), 'type_mismatch', 'search.search[0].from');
      expectError({ limit: '10' }, 'type_mismatch', 'search.limit');
    });

    it('R-DATA-3 missing attribute -> attribute_expected', () => {
      expectError(undefined, 'attribute_expected', 'search');
      expectError(one({ type: 'in', in: [1] }), 'attribute_expected', 'search.search[0].fields');
      expectError(one({ fields: ['photo.a'], in: [1] }), 'attribute_expected', 'search.search[0].type');
      expectError(one({ type: 'match', fields: ['photo.a'] }), 'attribute_expected', 'search.search[0].string');
      expectError(one({ type: 'changed_since' }), 'attribute_expected', 'search.search[0].from');
      expectError({ sort: [{ order: 'ASC' }] }, 'attribute_expected', 'search.sort[0].field');
    });

    it('R-DATA-3 other bad values -> invalid_value', () => {
      expectError(one({ type: 'nearby', fields: ['photo.a'] }), 'invalid_value', 'search.search[0].type');
      expectError(
        one({ type: 'in', fields: ['photo.a'], in: [1], bool: 'maybe' }),
        'invalid_value',
        'search.search[0].bool',
      );
      expectError(
        one({ type: 'match', fields: ['photo.a'], string: 'x', mode: 'regex' }),
        'invalid_value',
        'search.search[0].mode',
      );
      expectError(one({ type: 'match', fields: ['photo.a'], string: '' }), 'invalid_value', 'search.search[0].string');
      expectError(
        one({ type: 'match', fields: ['photo.a'], string: 'a\u0000b' }),
        'invalid_value',
        'search.search[0].string',
      );
      expectError(one({ type: 'in', fields: ['photo.a'], in: ['\uD800'] }), 'invalid_value', 'search.search[0].in[0]');
      expectError(one({ type: 'in', fields: ['photo.a'], in: [] }), 'invalid_value', 'search.search[0].in');
      expectError(one({ type: 'in', fields: [], in: [1] }), 'invalid_value', 'search.search[0].fields');
      expectError(one({ type: 'changed_since', from: '2024-02-30' }), 'invalid_value', 'search.search[0].from');
      expectError(one({ type: 'changed_since', from: 'yesterday' }), 'invalid_value', 'search.search[0].from');
      expectError(one({ type: 'range', field: 'photo.a', from: 'soon' }), 'invalid_value', 'search.search[0].from');
      expectError({ objecttypes: ['Photo'] }, 'invalid_value', 'search.objecttypes[0]');
      expectError({ sort: [{ field: '_id', order: 'up' }] }, 'invalid_value', 'search.sort[0].order');
      expectError({ limit: -1 }, 'invalid_value', 'search.limit');
      expectError({ offset: 1.5 }, 'invalid_value', 'search.offset');
    });

    it('R-DATA-3 field paths outside the grammar or the objecttypes -> invalid_value at the field', () => {
      const bad = [
        "photo.ti'tle",
        'photo',
        'photo.',
        'photo..a',
        'photo.a b',
        'Photo.a',
        'video.title',
        'photo.a;drop',
        '1photo.a',
      ];
      for (const field of bad) {
        expectError(
          one({ type: 'in', fields: ['photo.ok', field], in: [1] }),
          'invalid_value',
          'search.search[0].fields[1]',
        );
      }
      const deep = `photo.${Array(SEARCH_LIMITS.maxPathSegments + 1)
        .fill('a')
        .join('.')}`;
      expectError(one({ type: 'in', fields: [deep], in: [1] }), 'invalid_value', 'search.search[0].fields[0]');
      expectError({ objecttypes: ['photo'], sort: [{ field: 'video.x' }] }, 'invalid_value', 'search.sort[0].field');
    });

    it('R-DATA-3 context checks: system fields, range bounds, fulltext words', () => {
      expectError(one({ type: 'match', fields: ['_id'], string: 'x' }), 'invalid_value', 'search.search[0].fields[0]');
      expectError(one({ type: 'in', fields: ['_id'], in: ['1', 2.5] }), 'type_mismatch', 'search.search[0].in');
      expectError(one({ type: 'in', fields: ['_objecttype'], in: [1] }), 'type_mismatch', 'search.search[0].in');
      parseSearchDefinition(one({ type: 'in', fields: ['_id', 'photo.a'], in: [1, 'x'] })); // 'x' is only for photo.a
      expectError(one({ type: 'in', fields: ['_changed_at'], in: ['x'] }), 'invalid_value', 'search.search[0].fields');
      expectError(one({ type: 'range', field: 'photo.a' }), 'invalid_value', 'search.search[0]');
      expectError(
        one({ type: 'range', field: 'photo.a', from: 1, to: '2024-01-01' }),
        'type_mismatch',
        'search.search[0].to',
      );
      expectError(one({ type: 'range', field: 'photo.a', from: 5, to: 1 }), 'invalid_value', 'search.search[0]');
      expectError(one({ type: 'range', field: '_id', from: '2024-01-01' }), 'type_mismatch', 'search.search[0].from');
      expectError(one({ type: 'range', field: '_created_at', to: 5 }), 'type_mismatch', 'search.search[0].to');
      expectError(one({ type: 'range', field: '_objecttype', to: 5 }), 'invalid_value', 'search.search[0].field');
      expectError(
        one({ type: 'match', fields: ['photo.a'], string: '!!! ---' }),
        'invalid_value',
        'search.search[0].string',
      );
      // same-day bounds at different precision are a valid, non-empty range
      parseSearchDefinition(one({ type: 'range', field: 'photo.d', from: '2024-05-01T10:00', to: '2024-05-01' }));
    });
  });

  describe('hostile input is refused with 400 before any recursion', () => {
    it(`R-DATA-3 nesting deeper than ${SEARCH_LIMITS.maxDepth} levels -> invalid_value`, () => {
      parseSearchDefinition(one(nest(SEARCH_LIMITS.maxDepth)));
      const e = errorOf(one(nest(SEARCH_LIMITS.maxDepth + 1)));
      expect(e.code).to.equal('error.api.invalid_value');
      expect(e.parameters.path).to.match(/^search\.search\[0\](\.search\[0\])+\.search$/);
    });

    it('R-DATA-3 100,000 levels of nesting -> 400, no stack overflow', () => {
      expect(errorOf(one(nest(100_000))).status).to.equal(400);
    });

    it(`R-DATA-3 more than ${SEARCH_LIMITS.maxElements} elements in total -> invalid_value`, () => {
      const leaf = { type: 'in', fields: ['photo.a'], in: [1] };
      const wide = { type: 'complex', search: Array(SEARCH_LIMITS.maxElements - 1).fill(leaf) };
      parseSearchDefinition({ objecttypes: ['photo'], search: [wide] });
      const e = errorOf({ objecttypes: ['photo'], search: [wide, leaf] });
      expect(e.code).to.equal('error.api.invalid_value');
      expect(e.parameters.path).to.match(/^search\.search\[0\]\.search\[\d+\]$/);
    });

    it('R-DATA-3 an in-list of 100,000 values -> invalid_value at the list', () => {
      const values = Array.from({ length: 100_000 }, (_, i) => i);
      expectError(one({ type: 'in', fields: ['photo.a'], in: values }), 'invalid_value', 'search.search[0].in');
      const nested = one({ type: 'complex', search: [{ type: 'in', fields: ['photo.a'], in: values }] });
      expectError(nested, 'invalid_value', 'search.search[0].search[0].in');
      parseSearchDefinition(one({ type: 'in', fields: ['photo.a'], in: values.slice(0, SEARCH_LIMITS.maxInValues) }));
    });

    it('R-DATA-3 arbitrary JSON either parses or yields a 400 AppError with a path (property)', () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 6 }), (input) => {
          try {
            parseSearchDefinition(input);
          } catch (e) {
            return e instanceof AppError && e.status === 400 && typeof e.parameters.path === 'string';
          }
          return true;
        }),
        { numRuns: runs(500) },
      );
    });

    it('R-DATA-3 arbitrary element-shaped objects either parse or yield a 400 AppError (property)', () => {
      const element = fc.record(
        {
          type: fc.constantFrom('in', 'match', 'range', 'changed_since', 'complex', 'x'),
          bool: fc.constantFrom('must', 'should', 'must_not', 'no'),
          fields: fc.array(fc.oneof(fc.constantFrom('photo.a', '_id', 'photo.a.b', '_changed_at'), fc.string())),
          field: fc.oneof(fc.constantFrom('photo.a', '_id', '_created_at'), fc.string()),
          in: fc.array(fc.oneof(fc.string(), fc.double(), fc.boolean())),
          string: fc.string(),
          mode: fc.constantFrom('fulltext', 'token', 'wildcard'),
          from: fc.oneof(fc.double({ noNaN: true }), fc.constant('2024-01-01'), fc.string()),
          to: fc.oneof(fc.integer(), fc.constant('2024-01-02T00:00Z')),
        },
        { requiredKeys: ['type'] },
      );
      fc.assert(
        fc.property(fc.array(element, { maxLength: 4 }), (search) => {
          try {
            parseSearchDefinition({ objecttypes: ['photo'], search });
          } catch (e) {
            return e instanceof AppError && e.status === 400 && typeof e.parameters.path === 'string';
          }
          return true;
        }),
        { numRuns: runs(1000) },
      );
    });
  });
});
