import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { invalidValue } from '../domain/errors.js';
import { parseWith } from '../domain/validation.js';

/**
 * The query parameters of each route that takes some, as zod schemas: the route validates its query with them
 * (`query(schema)` below) and the OpenAPI document lists its query parameters from them (openapi/operations.ts), so
 * the two cannot drift; test/http/openapi.test.ts compares the router's schemas with the document's parameters.
 * Unknown parameters are ignored (the session `token` travels in the query of every route, cache busters happen).
 */

const once = (description: string) => z.string().describe(description);

/** GET /api/v1/export (R-EXP-1). */
export const exportListQuery = z.object({
  filter: once('Comma = OR of filters, + = AND of parts, e.g. type:download|export+status:failed (R-EXP-1)').optional(),
  limit: z
    .string()
    .regex(/^\d{1,9}$/, 'must be a non-negative integer')
    .describe('Page size, at most 1000')
    .optional(),
  offset: z
    .string()
    .regex(/^\d{1,9}$/, 'must be a non-negative integer')
    .describe('Entries to skip')
    .optional(),
});

/** POST /api/v1/export/<id>. */
export const exportUpdateQuery = z.object({
  start: once('1 or true: start a run after saving; any other value does not').optional(),
});

const disposition = z.enum(['inline', 'attachment']);

/** The owner's file and archive routes (R-FILE-1/2/7, R-ROB-9). */
export const ownerFileQuery = z.object({
  disposition: disposition.describe('inline or attachment; also turns errors into browser redirects').optional(),
  filename: once('The file name in Content-Disposition').optional(),
  run: once(
    'Serve the files of this run instead of the published one (R-ROB-9): a run id, checked once the export is found',
  ).optional(),
});

/** Anonymous passkey downloads (R-FILE-6): errors are browser redirects whatever the query. */
export const downloadQuery = z.object({
  disposition: disposition.describe('inline or attachment (default attachment)').optional(),
});

/** POST /api/v1/session/authenticate: each may come in the body instead (R-AUTH-2). */
export const authenticateQuery = z.object({
  token: once('The session token; may come in the body or a header instead').optional(),
  login: once('The login; may come in the body instead').optional(),
  password: once('The password; may come in the body instead').optional(),
});

/** POST /api/v1/eas/put (R-DATA-2). */
export const assetPutQuery = z.object({
  filename: once('The file name; required for a raw body').optional(),
});

/** A middleware that validates the query with `schema`, carrying the schema so tests can read it off the router. */
export type QueryMiddleware = Middleware & { querySchema: z.ZodObject };

/**
 * Validates `ctx.query` with `schema` (400 in the error shape, `parameters.path` naming the parameter) and keeps the
 * result for `queryOf`. A parameter given twice is refused rather than one of its values picked silently.
 */
export function query(schema: z.ZodObject): QueryMiddleware {
  const mw: Middleware = async (ctx, next) => {
    for (const name of Object.keys(schema.shape)) {
      if (Array.isArray(ctx.query[name])) throw invalidValue(name, `${name} must be given once`);
    }
    ctx.state.query = parseWith(schema, ctx.query);
    await next();
  };
  return Object.assign(mw, { querySchema: schema });
}

/** The query as `query(schema)` validated it. */
export const queryOf = <S extends z.ZodObject>(ctx: Context, _schema: S): z.output<S> => ctx.state.query as z.output<S>;

const digits = (description: string) =>
  z
    .string()
    .regex(/^\d{1,10}$/, 'must be a whole number')
    .describe(description)
    .optional();

/** GET /api/v1/export/<id>: the heavy parts a follower can leave out (checked in exports/view-query.ts). */
export const exportGetQuery = z.object({
  omit: once('Comma list of parts to leave out: _files, _log (for clients that follow an export)').optional(),
});

/** GET …/export/<id>/runs: ranges checked in exports/run-history.ts. */
export const runListQuery = z.object({
  limit: digits('Page size, 1 to 200 (default 20)'),
  offset: digits('Runs to skip'),
});

/** GET …/export/<id>/files: checked in files/folder-listing.ts. */
export const folderQuery = z.object({
  prefix: once('The folder: empty for the root, else a path ending with "/"').optional(),
  limit: digits('Page size, 1 to 1000 (default 200)'),
  offset: digits('Entries to skip'),
  run: digits('A retained run instead of the published one (410 once its files are gone)'),
});

/** GET …/export/<id>/status: checked in exports/status-watch.ts. */
export const statusQuery = z.object({
  wait: once('The _changed of the status the client has: answer when the status differs from it').optional(),
  timeout: digits('Seconds to wait, 1 to 30 (default 25); then the unchanged status'),
});
