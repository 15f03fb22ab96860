import { expect } from 'chai';
import fc from 'fast-check';
import knexFactory from 'knex';
import { parseSearchDefinition } from '../../../server/domain/search/parse.js';
import { buildSearchQuery } from '../../../server/domain/search/query.js';
import { DOC_TSVECTOR } from '../../../server/domain/search/to-sql.js';
import { runs } from '../../helpers/thorough.js';

// A knex without a connection: only used to render SQL.
const knex = knexFactory({ client: 'pg' });
const sqlOf = (input: unknown, ownerId = 7) => buildSearchQuery(knex, ownerId, parseSearchDefinition(input)).toSQL();
const HOSTILE = "'); drop table objects; --";

describe('search definition -> SQL', () => {
  after(() => knex.destroy());

  it('R-DATA-3 always scopes by owner and objecttypes with bound values, default order by id', () => {
    const q = sqlOf({ objecttypes: ['photo', 'video'] });
    expect(q.sql).to.equal(
      'select "objects"."id", "objects"."objecttype", "objects"."data", "objects"."version", "objects"."created_at", "objects"."changed_at" ' +
        'from "objects" where ("objects"."owner_id" = ? and "objects"."objecttype" = any(?::text[])) order by "objects"."id" ASC',
    );
    expect(q.bindings).to.deep.equal([7, ['photo', 'video']]);
    expect(sqlOf({}).sql).to.not.include('any(?::text[])');
  });

  it('R-DATA-3 hostile strings in every value position appear only in bindings, never in the SQL text', () => {
    const q = sqlOf({
      objecttypes: ['photo'],
      search: [
        { type: 'in', fields: ['photo.title', '_objecttype'], in: [HOSTILE, 1] },
        { type: 'match', fields: ['photo.title'], string: HOSTILE, mode: 'fulltext' },
        { type: 'match', fields: ['photo.title'], string: HOSTILE, mode: 'token' },
        { type: 'match', fields: ['photo.title'], string: HOSTILE, mode: 'wildcard', bool: 'must_not' },
        {
          type: 'complex',
          bool: 'should',
          search: [{ type: 'in', fields: ['photo.x'], in: ['$.a ? (@ == 1) || true'] }],
        },
      ],
    });
    expect(q.sql).to.not.include('drop table');
    expect(q.sql).to.not.include('$.a');
    expect(JSON.stringify(q.bindings)).to.include('drop table objects');
    expect(q.bindings.filter((b) => typeof b === 'string' && b.includes(HOSTILE))).to.have.length.greaterThan(2);
  });

  it('R-DATA-3 no user string reaches the SQL text (property over values and field names)', () => {
    const word = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,10}$/);
    fc.assert(
      fc.property(word, fc.string({ minLength: 3 }), (field, value) => {
        const marker = `§${value}§`;
        const q = sqlOf({
          objecttypes: ['photo'],
          search: [
            { type: 'in', fields: [`photo.${field}`], in: [marker] },
            { type: 'match', fields: [`photo.${field}`], string: `${marker} x`, mode: 'token' },
            { type: 'match', fields: [`photo.${field}`], string: `${marker} x`, mode: 'wildcard' },
          ],
          sort: [{ field: `photo.${field}.sub`, order: 'DESC' }],
        });
        return !q.sql.includes('§') && !q.sql.includes(`"${field}"`);
      }),
      { numRuns: runs(300) },
    );
  });

  it('R-DATA-3 `in` on data fields is one indexable jsonpath test; on _id an array-bound = any()', () => {
    const q = sqlOf({ objecttypes: ['photo'], search: [{ type: 'in', fields: ['photo.tags', '_id'], in: ['a', 3] }] });
    expect(q.sql).to.include('("objects"."data" @\\? ?::jsonpath or "objects"."id" = any(?::bigint[]))');
    expect(q.bindings).to.deep.include('$."tags"[*] ? (@ == "a" || @ == 3)');
    expect(q.bindings).to.deep.include([3]);
  });

  it('R-DATA-3 fulltext adds the whole-document tsvector test that the GIN index serves', () => {
    const q = sqlOf({
      objecttypes: ['photo'],
      search: [{ type: 'match', fields: ['photo.title'], string: 'Sun set' }],
    });
    expect(q.sql).to.include(`${DOC_TSVECTOR} @@ plainto_tsquery('simple'::regconfig, ?)`);
    // the token prefilter is skipped where it could wrongly exclude (non-ASCII)
    const t = sqlOf({
      objecttypes: ['photo'],
      search: [{ type: 'match', fields: ['photo.title'], string: 'Ärger', mode: 'token' }],
    });
    expect(t.sql).to.not.include(DOC_TSVECTOR);
  });

  it('R-DATA-3 must = and, should = at least one, must_not = not coalesce(…)', () => {
    const q = sqlOf({
      objecttypes: ['photo'],
      search: [
        { type: 'in', fields: ['_id'], in: [1] },
        { type: 'in', fields: ['_id'], in: [2], bool: 'should' },
        { type: 'in', fields: ['_id'], in: [3], bool: 'should' },
        { type: 'in', fields: ['_id'], in: [4], bool: 'must_not' },
      ],
    });
    const id = '"objects"."id" = any(?::bigint[])';
    expect(q.sql).to.include(`(${id} and not coalesce(${id}, false) and (${id} or ${id}))`);
    expect(q.bindings.slice(2)).to.deep.equal([[1], [4], [2], [3]]);
  });

  it('R-DATA-3 paths of another objecttype are restricted to it, in conditions and in sort keys', () => {
    const q = sqlOf({
      objecttypes: ['photo', 'video'],
      search: [{ type: 'range', field: 'video.length', from: 1 }],
      sort: [{ field: 'photo.meta.width', order: 'DESC' }],
    });
    expect(q.sql).to.include('("objects"."objecttype" = ? and "objects"."data" @\\? ?::jsonpath)');
    expect(q.sql).to.include(
      'order by case when ("objects"."objecttype" = ? and jsonb_typeof("objects"."data" #> ?::text[]) = \'number\') then ("objects"."data" #>> ?::text[])::numeric end DESC NULLS LAST, ' +
        'case when ("objects"."objecttype" = ?) then "objects"."data" #>> ?::text[] end DESC NULLS LAST, "objects"."id" ASC',
    );
    expect(q.bindings.slice(-5)).to.deep.equal([
      'photo',
      ['meta', 'width'],
      ['meta', 'width'],
      'photo',
      ['meta', 'width'],
    ]);
  });

  it('R-DATA-3 paging comes from the page argument, else the definition', () => {
    const def = parseSearchDefinition({ limit: 5, offset: 10 });
    expect(buildSearchQuery(knex, 1, def).toSQL().sql).to.match(/limit \? offset \?$/);
    expect(buildSearchQuery(knex, 1, def, { limit: 2, offset: 0 }).toSQL().bindings).to.deep.equal([1, 2]);
  });
});
