import { z } from 'zod';
import { apiError } from '../errors.js';

/** Joins an attribute path the way error parameters show it: `_transports[0].options.host`. */
export const joinPath = (base: string, segments: readonly PropertyKey[]): string =>
  segments.reduce<string>(
    (acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${String(s)}` : String(s)),
    base,
  );

/**
 * Parses `input` with a zod schema and turns the first issue into the SPEC §2 error with `parameters.path`.
 * Only the first issue is reported: the API answers one error at a time. Input values never go into the message,
 * because options carry secrets (R-TR-4).
 */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown, path: string): T {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = joinPath(path, issue.path);
  if (issue.code === 'unrecognized_keys') {
    const attr = joinPath(at, [issue.keys[0]!]);
    throw apiError('attribute_not_accepted', `Attribute ${attr} is not accepted`, { path: attr });
  }
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) throw apiError('attribute_expected', `Attribute ${at} is required`, { path: at });
    throw apiError('type_mismatch', `Attribute ${at} must be of type ${issue.expected}`, {
      path: at,
      expected: issue.expected,
    });
  }
  throw apiError('invalid_value', `Attribute ${at}: ${issue.message}`, { path: at });
}

/** Host names or IP literals (IPv6 without brackets); no scheme, user info, port or path. */
export const hostSchema = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.\-:]+$/, 'must be a host name or IP address without scheme or port');

export const portSchema = z.number().int().min(1).max(65535);

/** A remote folder; relative paths are relative to the login's home folder. */
export const remotePathSchema = z
  .string()
  .max(1024)
  // NUL and backslash have no portable meaning on remote servers; refusing them keeps the layout predictable.
  .refine((p) => !/[\u0000\\]/.test(p), 'must not contain NUL or backslash characters');
