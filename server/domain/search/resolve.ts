import { apiError, invalidValue } from '../errors.js';
import { type FieldRef, parseFieldPath, type SystemColumn } from './field-path.js';
import type { JsonScalar } from './jsonpath.js';
import type { MatchElement, RangeElement, SearchDefinition, SearchElement } from './schema.js';
import { wildcardToLike } from './wildcard.js';

/**
 * Turns a schema-valid definition into a small condition tree with every field path resolved and every context check
 * done (errors carry the attribute path). to-sql.ts renders this tree and validates nothing itself.
 *
 * Bool semantics inside one group (the top-level `search` array or a `complex.search`):
 *   all `must` elements AND, every `must_not` element negated, and — when there are `should` elements — at least one
 *   of them must match, whether or not the group also has `must` elements. We do not rank results, so a `should` that
 *   could be ignored would have no effect at all; "A must, B should, C should" therefore means A AND (B OR C).
 *   An empty group matches everything.
 */
type Restrict = { objecttype: string | null };
export type Leaf =
  | ({ op: 'column_in'; column: SystemColumn; values: (number | string)[] } & Restrict)
  | ({ op: 'data_in'; segments: string[]; values: JsonScalar[] } & Restrict)
  | ({ op: 'fulltext'; segments: string[]; query: string } & Restrict)
  | ({ op: 'token'; segments: string[]; value: string } & Restrict)
  | ({ op: 'wildcard'; segments: string[]; like: string } & Restrict)
  /** Whole-document fulltext test: a necessary condition that lets the GIN tsvector index pre-select rows. */
  | { op: 'doc_fulltext'; query: string }
  | ({
      op: 'column_range';
      column: SystemColumn;
      type: 'int' | 'timestamp';
      from?: number | string;
      to?: number | string;
    } & Restrict)
  | ({ op: 'data_range'; segments: string[]; from?: number | string; to?: number | string } & Restrict)
  | { op: 'changed_since'; from: string };
export type CondNode = Leaf | { op: 'and' | 'or'; items: CondNode[] } | { op: 'not'; item: CondNode } | { op: 'true' };
export type SortKey = { ref: FieldRef; order: 'ASC' | 'DESC' };
export type ResolvedSearch = { objecttypes: string[]; where: CondNode; sort: SortKey[] };

export const resolveSearch = (def: SearchDefinition, basePath = 'search'): ResolvedSearch => {
  const objecttypes = [...new Set(def.objecttypes)];
  const where = resolveGroup(def.search, objecttypes, `${basePath}.search`);
  const sort = def.sort.map((s, i) => ({
    ref: parseFieldPath(s.field, objecttypes, `${basePath}.sort[${i}].field`),
    order: s.order,
  }));
  return { objecttypes, where, sort };
};

const and = (items: CondNode[]): CondNode =>
  items.length === 0 ? { op: 'true' } : items.length === 1 ? items[0] : { op: 'and', items };
const or = (items: CondNode[]): CondNode => (items.length === 1 ? items[0] : { op: 'or', items });

const resolveGroup = (elements: SearchElement[], ots: string[], path: string): CondNode => {
  const musts: CondNode[] = [];
  const shoulds: CondNode[] = [];
  elements.forEach((el, i) => {
    const node = resolveElement(el, ots, `${path}[${i}]`);
    if (el.bool === 'must') musts.push(node);
    else if (el.bool === 'must_not') musts.push({ op: 'not', item: node });
    else shoulds.push(node);
  });
  if (shoulds.length > 0) musts.push(or(shoulds));
  return and(musts);
};

const resolveElement = (el: SearchElement, ots: string[], p: string): CondNode => {
  switch (el.type) {
    case 'in':
      return or(el.fields.map((f, i) => inLeaf(parseFieldPath(f, ots, `${p}.fields[${i}]`), el.in, p)));
    case 'match':
      return resolveMatch(el, ots, p);
    case 'range':
      return resolveRange(el, ots, p);
    case 'changed_since':
      return { op: 'changed_since', from: el.from };
    case 'complex':
      return resolveGroup(el.search, ots, `${p}.search`);
  }
};

const inLeaf = (ref: FieldRef, values: JsonScalar[], p: string): CondNode => {
  if (ref.kind === 'data') return { op: 'data_in', segments: ref.segments, values, objecttype: ref.objecttype };
  if (ref.type === 'timestamp') {
    throw invalidValue(`${p}.fields`, '`in` does not apply to _created_at/_changed_at; use a range');
  }
  // Columns have one type and equality is type-aware, so values of another type can never match: they are dropped.
  // When none is left the element cannot match at all on this field, which is a client mistake worth a 400.
  const compatible = values.filter((v) => (ref.type === 'int' ? Number.isSafeInteger(v) : typeof v === 'string'));
  if (compatible.length === 0) {
    throw apiError('type_mismatch', `No value can equal this field (${ref.type === 'int' ? 'integers' : 'strings'})`, {
      path: `${p}.in`,
    });
  }
  return { op: 'column_in', column: ref.column, values: compatible as (number | string)[], objecttype: ref.objecttype };
};

// Any letter or digit guarantees plainto_tsquery yields a lexeme; without one the query would silently match nothing.
const HAS_WORD = /[\p{L}\p{N}]/u;
// The prefilter for token mode is only provably exact for printable ASCII, where lower() and the text-search
// lowercasing agree and the parser splits both spellings identically.
const ASCII_WORDY = /^[\x20-\x7e]*[A-Za-z0-9][\x20-\x7e]*$/;

const resolveMatch = (el: MatchElement, ots: string[], p: string): CondNode => {
  const refs = el.fields.map((f, i) => {
    const ref = parseFieldPath(f, ots, `${p}.fields[${i}]`);
    if (ref.kind !== 'data')
      throw invalidValue(`${p}.fields[${i}]`, '`match` applies to data fields, not system fields');
    return ref;
  });
  if (el.mode === 'fulltext') {
    if (!HAS_WORD.test(el.string)) throw invalidValue(`${p}.string`, 'A fulltext search needs at least one word');
    const fieldTests = refs.map(
      (r) => ({ op: 'fulltext', segments: r.segments, query: el.string, objecttype: r.objecttype }) as const,
    );
    return and([{ op: 'doc_fulltext', query: el.string }, or(fieldTests)]);
  }
  if (el.mode === 'token') {
    const fieldTests = refs.map(
      (r) => ({ op: 'token', segments: r.segments, value: el.string, objecttype: r.objecttype }) as const,
    );
    return ASCII_WORDY.test(el.string)
      ? and([{ op: 'doc_fulltext', query: el.string }, or(fieldTests)])
      : or(fieldTests);
  }
  const like = wildcardToLike(el.string);
  return or(refs.map((r) => ({ op: 'wildcard', segments: r.segments, like, objecttype: r.objecttype })));
};

const resolveRange = (el: RangeElement, ots: string[], p: string): CondNode => {
  const ref = parseFieldPath(el.field, ots, `${p}.field`);
  const { from, to } = el;
  if (from === undefined && to === undefined) throw invalidValue(p, 'A range needs `from`, `to` or both');
  if (from !== undefined && to !== undefined) {
    if (typeof from !== typeof to)
      throw apiError('type_mismatch', '`from` and `to` must have the same type', { path: `${p}.to` });
    // A string `to` is inclusive at its own precision, so `from` may extend it ("2024-05-01T10:00" .. "2024-05-01").
    const empty = typeof to === 'string' ? String(from) > to && !String(from).startsWith(to) : Number(from) > to;
    if (empty) throw invalidValue(p, '`from` is after `to`');
  }
  if (ref.kind === 'data') return { op: 'data_range', segments: ref.segments, from, to, objecttype: ref.objecttype };
  if (ref.type === 'text') throw invalidValue(`${p}.field`, 'A range does not apply to _objecttype');
  const want = ref.type === 'int' ? 'number' : 'string';
  for (const key of ['from', 'to'] as const) {
    const v = el[key];
    if (v !== undefined && typeof v !== want) {
      throw apiError('type_mismatch', `Expected ${want === 'number' ? 'a number' : 'an ISO 8601 date'}`, {
        path: `${p}.${key}`,
      });
    }
    // Bounds are compared in the column's own type (bigint id, integer version) so its index stays usable; a bound
    // outside that type (or one JS cannot hold exactly: 1e21 prints as "1e+21") is refused instead of reaching
    // PostgreSQL as a value it cannot convert.
    const max = ref.column === 'version' ? 2 ** 31 - 1 : Number.MAX_SAFE_INTEGER;
    if (typeof v === 'number' && Math.abs(v) > max) {
      throw invalidValue(`${p}.${key}`, `A bound of ${el.field} must lie between -${max} and ${max}`);
    }
  }
  return { op: 'column_range', column: ref.column, type: ref.type, from, to, objecttype: ref.objecttype };
};
