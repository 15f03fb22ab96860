import { z } from 'zod';
import { parseQuery } from '../query-params.js';
import type { ViewParts } from './export-repo.js';

const OMITTABLE = ['_files', '_log'] as const;

const viewQuery = z.object({
  omit: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const names = raw ? raw.split(',') : [];
      for (const name of names) {
        if (!(OMITTABLE as readonly string[]).includes(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `${JSON.stringify(name)} cannot be omitted; use ${OMITTABLE.join(', ')}`,
          });
          return z.NEVER;
        }
      }
      return names;
    }),
});

/**
 * `GET …/export/<id>?omit=_files,_log`: which heavy parts to leave out, for clients that follow an export and need
 * neither its 60,000 files nor its log on every read. Unknown names are a 400 (a typo would otherwise be silent).
 */
export function parseViewParts(query: unknown): ViewParts {
  const { omit } = parseQuery(viewQuery, query);
  return { files: !omit.includes('_files'), log: !omit.includes('_log') };
}
