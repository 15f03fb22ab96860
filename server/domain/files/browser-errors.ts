import { AppError } from '../errors.js';

/**
 * Browser-facing errors (R-FILE-7): `download/…` always, and `file/…` / `zip/…` with `disposition`, answer
 * `302 Location: <FRONTEND_URL>/#server_error:<key>`. These are all the keys; the page at `/` has a message for each.
 */
export const BROWSER_ERROR_KEYS = [
  'export.invalid.passkey',
  'export.not.found',
  'export.not.done',
  'export.file.not.found',
  'export.expired',
  'export.run.gone',
  'export.too.many.attempts',
  'session.not.authenticated',
  'server.error',
] as const;

export type BrowserErrorKey = (typeof BROWSER_ERROR_KEYS)[number];

/** An AppError that also says which browser key it maps to (its JSON form stays a JSON error of docs/errors.md). */
const withKey = (e: AppError, key: BrowserErrorKey): AppError => Object.assign(e, { browserKey: key });

export const invalidPasskey = () =>
  withKey(new AppError(403, 'user', 'invalid_passkey', 'The download link is not valid'), 'export.invalid.passkey');

/** No published run yet (or no longer one): JSON callers see a missing file, browsers `export.not.done`/`expired`. */
export const notPublished = (path: string, expired: boolean) =>
  withKey(
    new AppError(404, 'user', 'not_found', `file ${path || '/'} not found: the export has no published files`, {
      type: 'file',
      id: path,
    }),
    expired ? 'export.expired' : 'export.not.done',
  );

/**
 * A link naming a run (R-ROB-9) whose files were deleted after the export published newer runs: 410, so a resuming
 * client fails loudly instead of appending another run's bytes.
 */
export const runGone = (runId: number) =>
  withKey(
    new AppError(410, 'user', 'run_gone', `The files of run ${runId} are no longer kept: the export has published a newer run`, {
      type: 'run',
      id: runId,
    }),
    'export.run.gone',
  );

export const fileNotFound = (path: string) =>
  new AppError(404, 'user', 'not_found', `file ${path} not found`, { type: 'file', id: path });

/** Maps any error of a browser-facing route to its key; unknown and server errors are `server.error`. */
export const browserErrorKey = (e: AppError): BrowserErrorKey => {
  const explicit = (e as { browserKey?: BrowserErrorKey }).browserKey;
  if (explicit) return explicit;
  if (e.code === 'error.user.not_authenticated') return 'session.not.authenticated';
  if (e.code === 'error.user.too_many_attempts') return 'export.too.many.attempts';
  if (e.code === 'error.user.not_found') return e.parameters.type === 'export' ? 'export.not.found' : 'export.file.not.found';
  if (e.code === 'error.api.invalid_value') {
    // A malformed export id names no export; a malformed path or run, or a folder given to file/, names no file.
    if (e.parameters.path === 'export-id') return 'export.not.found';
    if (e.parameters.path === 'path' || e.parameters.path === 'run') return 'export.file.not.found';
  }
  return 'server.error';
};
