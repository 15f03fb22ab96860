import type { Knex } from 'knex';
import { invalidValue } from '../errors.js';

export const EXPORT_TYPES = ['export', 'export_incremental', 'download'] as const;
export const EXPORT_STATES = ['new', 'pending', 'processing', 'done', 'failed'] as const;

type Part = { column: 'type' | 'state'; values: string[] };
export type ExportFilter = Part[][];

const VARIABLES: Record<string, { column: Part['column']; allowed: readonly string[] }> = {
  type: { column: 'type', allowed: EXPORT_TYPES },
  status: { column: 'state', allowed: EXPORT_STATES },
};

/**
 * The seed's list filter (R-EXP-1): `,` separates filters (OR), `+` separates parts of one filter (AND),
 * a part is `type:v1|v2` or `status:v1|v2`. Strict: any empty piece, unknown variable or value is a 400.
 */
export function parseExportFilter(raw: string): ExportFilter {
  const fail = (why: string) => invalidValue('filter', `Invalid filter ${JSON.stringify(raw)}: ${why}`);
  if (raw.length > 2000) throw fail('too long');
  return raw.split(',').map((filter) => {
    if (!filter) throw fail('empty filter between commas');
    return filter.split('+').map((part) => {
      const colon = part.indexOf(':');
      if (colon <= 0) throw fail(`part ${JSON.stringify(part)} is not <variable>:<values>`);
      const name = part.slice(0, colon);
      const variable = VARIABLES[name];
      if (!variable) throw fail(`unknown variable ${JSON.stringify(name)} (use type or status)`);
      const values = part.slice(colon + 1).split('|');
      for (const v of values) {
        if (!variable.allowed.includes(v)) {
          throw fail(`${name} ${JSON.stringify(v)} is not one of ${variable.allowed.join(', ')}`);
        }
      }
      return { column: variable.column, values };
    });
  });
}

export function applyExportFilter(qb: Knex.QueryBuilder, filter: ExportFilter): void {
  qb.where((outer) => {
    for (const parts of filter) {
      outer.orWhere((inner) => {
        for (const p of parts) inner.whereIn(p.column, p.values);
      });
    }
  });
}

/** limit/offset query values: absent -> default; anything but a non-negative integer -> 400. */
export function parsePaging(query: Record<string, unknown>): { limit: number | null; offset: number } {
  const read = (name: string): number | null => {
    const v = query[name];
    if (v === undefined) return null;
    if (typeof v !== 'string' || !/^\d{1,9}$/.test(v)) throw invalidValue(name, `${name} must be a non-negative integer`);
    return Number(v);
  };
  const limit = read('limit');
  return { limit: limit === null ? null : Math.min(limit, 1000), offset: read('offset') ?? 0 };
}
