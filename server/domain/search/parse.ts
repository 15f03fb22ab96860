import { invalidValue } from '../errors.js';
import { fromZodError } from '../validation.js';
import { SEARCH_LIMITS as L } from './limits.js';
import { resolveSearch } from './resolve.js';
import { type SearchDefinition, searchDefinitionSchema } from './schema.js';

/**
 * Validates an untrusted search definition (R-DATA-3) and returns it with defaults filled in, or throws a 400 AppError
 * whose `parameters.path` names the offending attribute below `basePath` (e.g. `export.search.search[2].fields[0]`).
 * Order: size limits first (iteratively, so hostile nesting cannot overflow the stack), then the zod schema,
 * then the context checks (field paths against objecttypes, bound types) of resolve.ts.
 */
export const parseSearchDefinition = (input: unknown, basePath = 'search'): SearchDefinition => {
  checkLimits(input, basePath);
  const result = searchDefinitionSchema.safeParse(input);
  if (!result.success) throw fromZodError(result.error, input, basePath);
  resolveSearch(result.data, basePath);
  return result.data;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Walks `search` arrays without recursion, counting elements and levels, and measuring `in` lists. */
const checkLimits = (input: unknown, base: string): void => {
  if (!isObject(input) || !Array.isArray(input.search)) return; // shape errors are zod's to report
  const stack: { list: unknown[]; depth: number; path: string }[] = [
    { list: input.search, depth: 1, path: `${base}.search` },
  ];
  let count = 0;
  while (stack.length > 0) {
    const { list, depth, path } = stack.pop()!;
    if (depth > L.maxDepth) throw invalidValue(path, `Search elements nest at most ${L.maxDepth} levels deep`);
    for (let i = 0; i < list.length; i++) {
      if (++count > L.maxElements)
        throw invalidValue(`${path}[${i}]`, `A search has at most ${L.maxElements} elements`);
      const el = list[i];
      if (!isObject(el)) continue;
      if (Array.isArray(el.in) && el.in.length > L.maxInValues) {
        throw invalidValue(`${path}[${i}].in`, `An in-list has at most ${L.maxInValues} values`);
      }
      if (Array.isArray(el.search)) stack.push({ list: el.search, depth: depth + 1, path: `${path}[${i}].search` });
    }
  }
};

