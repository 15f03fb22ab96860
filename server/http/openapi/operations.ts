/** Building blocks of the document's operations: references, JSON responses, the error set per status, headers. */

import { z } from 'zod';

export type Json = Record<string, unknown>;

export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

export const jsonResponse = (schema: string, description: string): Json => ({
  description,
  content: { 'application/json': { schema: ref(schema) } },
});

const ERROR_MEANING: Record<number, string> = {
  400: 'Malformed input (error.api.*) or a request the export cannot take (error.user.*)',
  403: 'Not authenticated (error.user.not_authenticated; parameters.reason says why) or not allowed',
  404: 'No such export, object, asset or file, or no such route (error.api.not_found)',
  405: 'The route exists but not with this method (error.api.method_not_allowed)',
  409: 'A conflict with the current state (a stale _version, a run in progress)',
  410: 'The files of the run asked for are gone (R-ROB-9)',
  413: 'The request body is larger than the configured limit (error.api.payload_too_large)',
  416: 'The Range cannot be satisfied; Content-Range says the size',
  429: 'Too many attempts; Retry-After and parameters.retry_after say when to come back',
  500: 'An unexpected server error; the uuid is in the server log',
  503: 'The database is overloaded or unreachable, or a statement took too long; try again',
};

/** The error body (docs/errors.md) for each of `statuses`, plus the ones every route can answer. */
export function errors(...statuses: number[]): Json {
  const all = [...new Set([...statuses, 404, 405, 500, 503])].sort();
  return Object.fromEntries(
    all.map((s) => {
      const r = jsonResponse('Error', ERROR_MEANING[s] ?? 'Error');
      if (s === 429) r.headers = { 'Retry-After': header('integer', 'Seconds to wait') };
      return [String(s), r];
    }),
  );
}

export const header = (type: 'string' | 'integer', description: string): Json => ({ description, schema: { type } });

export const PROTECTED: Json[] = [{ token: [] }, { exportToken: [] }, { bearer: [] }];

export const idParam = (name = 'id', description = 'The export id, a positive integer'): Json => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' },
});

/**
 * The query parameters of an operation, from the zod schema its route validates the query with (server/http/query.ts):
 * one parameter per attribute, its description lifted out of the JSON Schema, required unless optional.
 */
export function queryParams(schema: z.ZodObject): Json[] {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as {
    properties?: Record<string, Json>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, { description, ...rest }]) => ({
    name,
    in: 'query',
    required: (json.required ?? []).includes(name),
    ...(description ? { description } : {}),
    schema: rest,
  }));
}

/** The multi-segment tail of file routes: OpenAPI has no such parameter, so the value's slashes are said in words. */
export const tailParam = (name: string, description: string): Json => ({
  name,
  in: 'path',
  required: true,
  description: `${description} It may contain "/".`,
  schema: { type: 'string' },
});
