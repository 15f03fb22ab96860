import type { Knex } from 'knex';
import { applySearchFilter, applySearchOrder } from './to-sql.js';
import type { SearchDefinition } from './schema.js';

/**
 * Ready-made queries over the caller's objects. `ownerId` is a required argument of every entry point: there is no way
 * to run a search that is not scoped to one owner (R-DATA-3 "runs only over the caller's objects").
 */
const OBJECT_COLUMNS = ['id', 'objecttype', 'data', 'version', 'created_at', 'changed_at'] as const;
export type ObjectRow = {
  id: string | number;
  objecttype: string;
  data: Record<string, unknown>;
  version: number;
  created_at: Date;
  changed_at: Date;
};
export type Page = { limit?: number; offset?: number };

/** Previews are for people looking at a screen; exports page through everything with their own query. */
const PREVIEW_DEFAULT_LIMIT = 50;
const PREVIEW_MAX_LIMIT = 1000;

/**
 * SELECT of the matching objects in the definition's sort order (id as tiebreak). Paging: `page` wins over the
 * definition's own `limit`/`offset`; without either the query is unbounded (an export streams it).
 */
export const buildSearchQuery = (
  knex: Knex | Knex.Transaction,
  ownerId: number | string,
  def: SearchDefinition,
  page: Page = {},
): Knex.QueryBuilder => {
  const qb = knex('objects').select(OBJECT_COLUMNS.map((c) => `objects.${c}`));
  applySearchFilter(qb, ownerId, def);
  applySearchOrder(qb, def);
  const limit = page.limit ?? def.limit;
  const offset = page.offset ?? def.offset;
  if (limit !== undefined) qb.limit(limit);
  if (offset !== undefined && offset > 0) qb.offset(offset);
  return qb;
};

/** Number of matching objects, ignoring sort and paging. */
export const countSearch = async (
  knex: Knex | Knex.Transaction,
  ownerId: number | string,
  def: SearchDefinition,
): Promise<number> => {
  const qb = knex('objects').count({ count: '*' });
  applySearchFilter(qb, ownerId, def);
  const rows = (await qb) as { count: string | number }[];
  return Number(rows[0].count);
};

/** `POST /api/v1/search` body: `{count, offset, limit, objects}` with the rows still in database form. */
export const searchPage = async (
  knex: Knex | Knex.Transaction,
  ownerId: number | string,
  def: SearchDefinition,
  page: Page = {},
): Promise<{ count: number; offset: number; limit: number; rows: ObjectRow[] }> => {
  const limit = Math.min(page.limit ?? def.limit ?? PREVIEW_DEFAULT_LIMIT, PREVIEW_MAX_LIMIT);
  const offset = page.offset ?? def.offset ?? 0;
  const [count, rows] = await Promise.all([
    countSearch(knex, ownerId, def),
    buildSearchQuery(knex, ownerId, def, { limit, offset }) as Promise<ObjectRow[]>,
  ]);
  return { count, offset, limit, rows };
};
