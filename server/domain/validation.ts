import type { z } from 'zod';
import { type AppError, apiError } from './errors.js';

/** `export.custom_data[2].key` from a base path and a zod issue path. */
export function joinPath(base: string, parts: readonly PropertyKey[]): string {
  let out = base;
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function valueAt(input: unknown, parts: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const p of parts) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** True when the attribute is present (even if null), so "missing" and "wrong type" can be told apart. */
function hasAttribute(input: unknown, parts: readonly PropertyKey[]): boolean {
  if (parts.length === 0) return input !== undefined;
  const parent = valueAt(input, parts.slice(0, -1));
  return typeof parent === 'object' && parent !== null && Object.hasOwn(parent, parts[parts.length - 1]);
}

/**
 * The one mapping of zod issues onto the error codes of docs/errors.md, used by every validator (exports, search, schedules,
 * transports): unknown key -> attribute_not_accepted, missing -> attribute_expected, wrong JSON type ->
 * type_mismatch, anything else -> invalid_value; `parameters.path` names the attribute. Only the first issue is
 * reported (the API answers one error at a time). Messages are zod's own and never quote the input, which may be a
 * secret (R-TR-4).
 */
export function fromZodError(error: z.ZodError, input: unknown, base = ''): AppError {
  const issue = error.issues[0];
  const path = joinPath(base, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const attr = joinPath(base, [...issue.path, issue.keys[0]]);
      return apiError('attribute_not_accepted', `Attribute ${attr} is not accepted`, { path: attr });
    }
    case 'invalid_type':
      if (!hasAttribute(input, issue.path)) return apiError('attribute_expected', `Attribute ${path} is required`, { path });
      // 1.5 where an integer belongs is the right JSON type with a wrong value.
      if (issue.expected === 'int' && typeof valueAt(input, issue.path) === 'number') {
        return apiError('invalid_value', `Attribute ${path}: ${issue.message}`, { path });
      }
      return apiError('type_mismatch', `Attribute ${path}: ${issue.message}`, { path });
    case 'invalid_union': {
      if (!hasAttribute(input, issue.path)) return apiError('attribute_expected', `Attribute ${path} is required`, { path });
      // A union whose every branch failed on the type alone (a string where boolean|object belongs) is a type mismatch.
      const typeOnly =
        issue.errors.length > 0 && issue.errors.every((branch) => branch.every((i) => i.code === 'invalid_type'));
      if (typeOnly) {
        // Name the accepted types ("expected boolean or object") rather than zod's bare "Invalid input".
        const expected = [
          ...new Set(issue.errors.flatMap((branch) => branch.map((i) => (i as { expected?: string }).expected ?? ''))),
        ].filter(Boolean);
        const names = expected.join(' or ');
        return apiError('type_mismatch', `Attribute ${path}: expected ${names || 'another type'}`, { path, expected });
      }
      return apiError('invalid_value', `Attribute ${path}: ${issue.message}`, { path });
    }
    default:
      return apiError('invalid_value', `Attribute ${path}: ${issue.message}`, { path });
  }
}

/**
 * Parses `input` with `schema` or throws the mapped AppError. A refinement that throws on input it did not expect
 * (`new URL("http://[")` inside a check) is a malformed value as well, a 400 on `base`, never a 500; its message is
 * kept only when it is Node's own (it could otherwise quote the input, which may be a secret).
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, base = ''): z.output<S> {
  let r: z.ZodSafeParseResult<z.output<S>>;
  try {
    r = schema.safeParse(input);
  } catch (e) {
    const known = typeof (e as { code?: unknown }).code === 'string' && /^ERR_/.test((e as { code: string }).code);
    const why = known ? (e as Error).message : 'a value is malformed';
    throw apiError('invalid_value', `Attribute ${base || '(body)'}: ${why}`, { path: base });
  }
  if (!r.success) throw fromZodError(r.error, input, base);
  return r.data;
}
