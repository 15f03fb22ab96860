import type { Knex } from 'knex';
import type { FieldRef } from './field-path.js';
import { jsonpathAccessor, jsonpathIn, jsonpathRange } from './jsonpath.js';
import { type CondNode, type Leaf, type ResolvedSearch, resolveSearch, type SortKey } from './resolve.js';
import type { SearchDefinition } from './schema.js';

/**
 * Renders a search definition as SQL over `objects` (R-DATA-3). Every user value — strings, numbers, field-path
 * segments, jsonpath texts — is a `?` binding; the SQL text is assembled only from the constants in this file and
 * column names from field-path.ts's allow-list. Shapes are chosen for these indexes (created by the objects migration):
 *   objects_owner_type_id  btree (owner_id, objecttype, id)        owner scope, objecttypes, default order
 *   objects_owner_changed  btree (owner_id, changed_at)            changed_since
 *   objects_data_path_ops  gin (data jsonb_path_ops)               `in` via `data @? '$."f"[*] ? (@ == …)'`
 *   objects_data_fts       gin (jsonb_to_tsvector('simple', data, '["string","numeric","boolean"]'))
 *                                                                 fulltext/token prefilter (`TSV @@ plainto_tsquery`)
 */
type SqlFragment = { sql: string; bindings: unknown[] };

const T = '"objects"';
const DATA = `${T}."data"`;
/** Must stay character-for-character equal to the expression of the objects_data_fts index, or the index is not used. */
export const DOC_TSVECTOR = `jsonb_to_tsvector('simple'::regconfig, ${DATA}, '["string", "numeric", "boolean"]'::jsonb)`;
const TSQUERY = `plainto_tsquery('simple'::regconfig, ?)`;
// `\\?` is knex's escape for a literal `?`, so `@?` (jsonpath exists) is not taken for a placeholder.
const JSONPATH_EXISTS = `${DATA} @\\? ?::jsonpath`;
const SCALAR_VALUES = `jsonb_path_query(${DATA}, ?::jsonpath) as v(val) where jsonb_typeof(v.val) in ('string', 'number', 'boolean')`;

const frag = (sql: string, ...bindings: unknown[]): SqlFragment => ({ sql, bindings });
const col = (name: string) => `${T}."${name}"`;

const join = (op: 'and' | 'or', parts: SqlFragment[]): SqlFragment => ({
  sql: `(${parts.map((p) => p.sql).join(` ${op} `)})`,
  bindings: parts.flatMap((p) => p.bindings),
});

const restrict = (objecttype: string | null, inner: SqlFragment): SqlFragment =>
  objecttype === null ? inner : join('and', [frag(`${col('objecttype')} = ?`, objecttype), inner]);

const renderLeaf = (leaf: Leaf): SqlFragment => {
  switch (leaf.op) {
    case 'column_in':
      return restrict(
        leaf.objecttype,
        leaf.column === 'objecttype'
          ? frag(`${col(leaf.column)} = any(?::text[])`, leaf.values)
          : frag(`${col(leaf.column)} = any(?::bigint[])`, leaf.values),
      );
    case 'data_in':
      return restrict(leaf.objecttype, frag(JSONPATH_EXISTS, jsonpathIn(leaf.segments, leaf.values)));
    case 'doc_fulltext':
      return frag(`${DOC_TSVECTOR} @@ ${TSQUERY}`, leaf.query);
    case 'fulltext':
      // All words must occur somewhere in the field's values (arrays and nested objects included), case-insensitively.
      return restrict(
        leaf.objecttype,
        frag(
          `jsonb_to_tsvector('simple'::regconfig, jsonb_path_query_array(${DATA}, ?::jsonpath), '["string", "numeric", "boolean"]'::jsonb) @@ ${TSQUERY}`,
          jsonpathAccessor(leaf.segments),
          leaf.query,
        ),
      );
    case 'token':
      return restrict(
        leaf.objecttype,
        frag(
          `exists (select 1 from ${SCALAR_VALUES} and lower(v.val #>> '{}') = lower(?))`,
          jsonpathAccessor(leaf.segments),
          leaf.value,
        ),
      );
    case 'wildcard':
      return restrict(
        leaf.objecttype,
        frag(
          `exists (select 1 from ${SCALAR_VALUES} and (v.val #>> '{}') ilike ? escape '\\')`,
          jsonpathAccessor(leaf.segments),
          leaf.like,
        ),
      );
    case 'data_range':
      return restrict(leaf.objecttype, frag(JSONPATH_EXISTS, jsonpathRange(leaf.segments, leaf.from, leaf.to)));
    case 'column_range':
      return restrict(leaf.objecttype, renderColumnRange(leaf));
    case 'changed_since':
      return frag(`${col('changed_at')} >= ?::timestamptz`, leaf.from);
  }
};

const renderColumnRange = (leaf: Extract<Leaf, { op: 'column_range' }>): SqlFragment => {
  const c = col(leaf.column);
  const parts: SqlFragment[] = [];
  if (leaf.type === 'int') {
    // Integer bounds keep the comparison bigint-to-bigint, so the btree on the column stays usable.
    if (leaf.from !== undefined) parts.push(frag(`${c} >= ?`, Math.ceil(Number(leaf.from))));
    if (leaf.to !== undefined) parts.push(frag(`${c} <= ?`, Math.floor(Number(leaf.to))));
  } else {
    if (leaf.from !== undefined) parts.push(frag(`${c} >= ?::timestamptz`, leaf.from));
    const to = leaf.to === undefined ? undefined : String(leaf.to);
    // A date-only `to` includes that whole day (in the session time zone); a timestamp `to` is inclusive as given.
    if (to !== undefined && to.length === 10) parts.push(frag(`${c} < (?::date + 1)::timestamptz`, to));
    else if (to !== undefined) parts.push(frag(`${c} <= ?::timestamptz`, to));
  }
  return parts.length === 1 ? parts[0] : join('and', parts);
};

const renderCondition = (node: CondNode): SqlFragment => {
  switch (node.op) {
    case 'true':
      return frag('true');
    case 'and':
    case 'or':
      return join(node.op, node.items.map(renderCondition));
    case 'not': {
      // coalesce: a NULL from the inner test (e.g. a suppressed jsonpath error) must count as "no match", not as unknown.
      const inner = renderCondition(node.item);
      return { sql: `not coalesce(${inner.sql}, false)`, bindings: inner.bindings };
    }
    default:
      return renderLeaf(node);
  }
};

/** The complete WHERE condition: owner scope first (never optional), then objecttypes, then the search tree. */
const compileSearchWhere = (ownerId: number | string, resolved: ResolvedSearch): SqlFragment => {
  const parts = [frag(`${col('owner_id')} = ?`, ownerId)];
  if (resolved.objecttypes.length > 0) parts.push(frag(`${col('objecttype')} = any(?::text[])`, resolved.objecttypes));
  if (resolved.where.op !== 'true') parts.push(renderCondition(resolved.where));
  return join('and', parts);
};

/**
 * ORDER BY for the sort entries plus `id` as the final tiebreak, so pages are stable.
 * A data field sorts numbers numerically first, then all other values by their text (`data #>> path`, database
 * collation); objects without the field (or of another objecttype than the path names) come last in both directions.
 */
const compileSearchOrder = (sort: SortKey[]): SqlFragment => {
  const parts: SqlFragment[] = sort.flatMap((s) =>
    sortExpressions(s.ref).map((e) => ({ ...e, sql: `${e.sql} ${dir(s.order)}` })),
  );
  parts.push(frag(`${col('id')} ASC`));
  return { sql: parts.map((p) => p.sql).join(', '), bindings: parts.flatMap((p) => p.bindings) };
};

// Direction keywords come from this fixed map, never from the input string itself.
const dir = (order: 'ASC' | 'DESC') => (order === 'DESC' ? 'DESC NULLS LAST' : 'ASC NULLS LAST');

const sortExpressions = (ref: FieldRef): SqlFragment[] => {
  const guard = ref.objecttype === null ? [] : [frag(`${col('objecttype')} = ?`, ref.objecttype)];
  const when = (cond: SqlFragment[], then: SqlFragment): SqlFragment => {
    if (cond.length === 0) return then;
    const test = join('and', cond);
    return frag(`case when ${test.sql} then ${then.sql} end`, ...test.bindings, ...then.bindings);
  };
  if (ref.kind === 'column') return [when(guard, frag(col(ref.column)))];
  const isNumber = frag(`jsonb_typeof(${DATA} #> ?::text[]) = 'number'`, ref.segments);
  return [
    when([...guard, isNumber], frag(`(${DATA} #>> ?::text[])::numeric`, ref.segments)),
    when(guard, frag(`${DATA} #>> ?::text[]`, ref.segments)),
  ];
};

/** Adds the owner-scoped search condition to a query over `objects` (the table must not be aliased). */
export const applySearchFilter = <Q extends Knex.QueryBuilder>(
  qb: Q,
  ownerId: number | string,
  def: SearchDefinition,
): Q => {
  const where = compileSearchWhere(ownerId, resolveSearch(def));
  return qb.whereRaw(where.sql, where.bindings as Knex.RawBinding[]) as Q;
};

export const applySearchOrder = <Q extends Knex.QueryBuilder>(qb: Q, def: SearchDefinition): Q => {
  const order = compileSearchOrder(resolveSearch(def).sort);
  return qb.orderByRaw(order.sql, order.bindings as Knex.RawBinding[]) as Q;
};
