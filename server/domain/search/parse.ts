import type { z } from 'zod';
import { type AppError, apiError, invalidValue } from '../errors.js';
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
  if (!result.success) throw issueToError(result.error.issues[0], input, basePath);
  resolveSearch(result.data, basePath);
  return result.data;
};

export const formatPath = (base: string, path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`), base);

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

const valueAt = (input: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (node, key) =>
      typeof node === 'object' && node !== null ? (node as Record<PropertyKey, unknown>)[key] : undefined,
    input,
  );

const hasAttribute = (input: unknown, path: readonly PropertyKey[]): boolean => {
  let node: unknown = input;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return false;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  if (path.length === 0) return input !== undefined;
  return typeof node === 'object' && node !== null && Object.hasOwn(node, path[path.length - 1]);
};

/** Maps the first zod issue to SPEC §2 codes: unknown key, wrong type, missing attribute, anything else. */
const issueToError = (issue: z.core.$ZodIssue, input: unknown, base: string): AppError => {
  const path = formatPath(base, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0];
      return apiError('attribute_not_accepted', `Attribute ${key} is not accepted here`, {
        path: formatPath(base, [...issue.path, key]),
      });
    }
    case 'invalid_type':
      if (!hasAttribute(input, issue.path))
        return apiError('attribute_expected', 'This attribute is required', { path });
      // 1.5 where an integer belongs is the right type with a wrong value.
      if (issue.expected === 'int' && typeof valueAt(input, issue.path) === 'number')
        return invalidValue(path, issue.message);
      return apiError('type_mismatch', issue.message, { path });
    case 'invalid_union': {
      if (!hasAttribute(input, issue.path))
        return apiError('attribute_expected', 'This attribute is required', { path });
      // A union whose every branch failed on the type alone (e.g. an object in an `in` list) is a type mismatch.
      const typeOnly =
        issue.errors.length > 0 && issue.errors.every((branch) => branch.every((i) => i.code === 'invalid_type'));
      return apiError(typeOnly ? 'type_mismatch' : 'invalid_value', issue.message, { path });
    }
    default:
      return invalidValue(path, issue.message);
  }
};
