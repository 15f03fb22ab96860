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

/**
 * Maps the first zod issue onto the SPEC §2 codes: unknown key -> attribute_not_accepted, missing ->
 * attribute_expected, wrong JSON type -> type_mismatch, anything else -> invalid_value; `parameters.path` names it.
 */
export function fromZodError(error: z.ZodError, input: unknown, base = ''): AppError {
  const issue = error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const path = joinPath(base, [...issue.path, issue.keys[0]]);
    return apiError('attribute_not_accepted', `Attribute ${path} is not accepted`, { path });
  }
  const path = joinPath(base, issue.path);
  const wrongTypeInEveryBranch =
    issue.code === 'invalid_union' &&
    issue.errors.every((branch) => branch[0]?.code === 'invalid_type' && branch[0].path.length === 0);
  if (issue.code === 'invalid_type' || wrongTypeInEveryBranch) {
    if (valueAt(input, issue.path) === undefined) {
      return apiError('attribute_expected', `Attribute ${path} is required`, { path });
    }
    return apiError('type_mismatch', `Attribute ${path}: ${issue.message}`, { path });
  }
  return apiError('invalid_value', `Attribute ${path}: ${issue.message}`, { path });
}

/** Parses `input` with `schema` or throws the mapped AppError. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, base = ''): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw fromZodError(r.error, input, base);
  return r.data;
}
