import { z } from 'zod';
import { text } from '../text.js';
import { OBJECTTYPE_RE } from './field-path.js';
import { SEARCH_LIMITS as L } from './limits.js';

/**
 * The search definition (R-DATA-3) as zod schemas. Every object is strict: an unknown attribute is a client bug
 * we report (attribute_not_accepted) rather than silently ignore. Field-path grammar, range bound types and other
 * checks that need context live in resolve.ts; size limits are enforced before zod runs (parse.ts).
 */
type Bool = 'must' | 'should' | 'must_not';
type MatchMode = 'fulltext' | 'token' | 'wildcard';
type Scalar = string | number | boolean | null;

type InElement = { type: 'in'; bool: Bool; fields: string[]; in: Scalar[] };
export type MatchElement = { type: 'match'; bool: Bool; fields: string[]; string: string; mode: MatchMode };
export type RangeElement = { type: 'range'; bool: Bool; field: string; from?: number | string; to?: number | string };
type ChangedSinceElement = { type: 'changed_since'; bool: Bool; from: string };
type ComplexElement = { type: 'complex'; bool: Bool; search: SearchElement[] };
export type SearchElement = InElement | MatchElement | RangeElement | ChangedSinceElement | ComplexElement;
type SortEntry = { field: string; order: 'ASC' | 'DESC' };
export type SearchDefinition = {
  objecttypes: string[];
  search: SearchElement[];
  sort: SortEntry[];
  limit?: number;
  offset?: number;
};

// Lone surrogates and NUL cannot be stored or compared by PostgreSQL: the shared text type refuses them.
const safeString = text().max(L.maxStringLength);

/** `YYYY-MM-DD`, optionally `THH:MM[:SS[.fraction]]` and `Z` or `±HH:MM`; must also be a real calendar value. */
const ISO_DATE_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;
const isoDateString = z
  .string()
  .max(64)
  .refine((s) => ISO_DATE_RE.test(s) && isRealDate(s), 'Expected an ISO 8601 date or timestamp');

const isRealDate = (s: string): boolean => {
  const [y, m, d] = s.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  const time = s.slice(11, 19).split(':').map(Number);
  const timeOk = s.length <= 10 || (time[0] <= 23 && time[1] <= 59 && (time.length < 3 || time[2] <= 59));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d && timeOk;
};

const bool = z.enum(['must', 'should', 'must_not']).default('must');
const fieldPath = text().min(1).max(L.maxStringLength);
const fields = z.array(fieldPath).min(1).max(L.maxFields);
const scalar = z.union([safeString, z.number(), z.boolean(), z.null()]);
const bound = z.union([z.number(), isoDateString]);

const inElement = z.strictObject({
  type: z.literal('in'),
  bool,
  fields,
  in: z.array(scalar).min(1).max(L.maxInValues),
});
const matchElement = z.strictObject({
  type: z.literal('match'),
  bool,
  fields,
  string: safeString.min(1),
  mode: z.enum(['fulltext', 'token', 'wildcard']).default('fulltext'),
});
const rangeElement = z.strictObject({
  type: z.literal('range'),
  bool,
  field: fieldPath,
  from: bound.optional(),
  to: bound.optional(),
});
const changedSinceElement = z.strictObject({ type: z.literal('changed_since'), bool, from: isoDateString });
const complexElement = z.strictObject({
  type: z.literal('complex'),
  bool,
  // A getter makes the schema recursive; depth is bounded before zod runs (parse.ts).
  get search() {
    return z.array(searchElementSchema).max(L.maxElements);
  },
});

export const searchElementSchema: z.ZodType<SearchElement> = z.discriminatedUnion('type', [
  inElement,
  matchElement,
  rangeElement,
  changedSinceElement,
  complexElement,
]);

export const searchDefinitionSchema: z.ZodType<SearchDefinition> = z.strictObject({
  objecttypes: z
    .array(z.string().regex(OBJECTTYPE_RE, 'Objecttype names match [a-z][a-z0-9_]{0,62}'))
    .max(L.maxObjecttypes)
    .default([]),
  search: z.array(searchElementSchema).max(L.maxElements).default([]),
  sort: z
    .array(z.strictObject({ field: fieldPath, order: z.enum(['ASC', 'DESC']).default('ASC') }))
    .max(L.maxSort)
    .default([]),
  limit: z.number().int().min(0).max(L.maxLimit).optional(),
  offset: z.number().int().min(0).max(L.maxOffset).optional(),
});
