import { z } from 'zod';
import { parseWith } from './validation.js';

/**
 * Query parameters checked with zod like bodies, so a bad one is the same SPEC §2 error (`parameters.path` = its
 * name). Values arrive as strings; a parameter given twice arrives as an array and is a type_mismatch.
 */
export const parseQuery = <S extends z.ZodType>(schema: S, query: unknown): z.output<S> => parseWith(schema, query, '');

/** A whole number from `min` to `max`; absent means `fallback`. */
export const intParam = (min: number, max: number, fallback: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d{1,10}$/, { error: message })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: message })
    .optional()
    .transform((n) => n ?? fallback);
};

/** `limit` and `offset` of a paged list. */
export const pagingParams = (maxLimit: number, defaultLimit: number) => ({
  limit: intParam(1, maxLimit, defaultLimit),
  offset: intParam(0, 1_000_000_000, 0),
});
