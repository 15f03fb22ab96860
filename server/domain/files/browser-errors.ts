import { AppError } from '../errors.js';

/**
 * The errors of the file routes that browsers see (R-FILE-7). Keys and their mapping are declared with the codes
 * in errors.ts (ERRORS, browserErrorKey); an error here only overrides the key where the code alone can't tell.
 */
export { BROWSER_ERROR_KEYS, browserErrorKey } from '../errors.js';

export const invalidPasskey = () => new AppError(403, 'user', 'invalid_passkey', 'The download link is not valid');

/** No published run yet (or no longer one): JSON callers see a missing file, browsers `export.not.done`/`expired`. */
export const notPublished = (path: string, expired: boolean) =>
  new AppError(
    404,
    'user',
    'not_found',
    `file ${path || '/'} not found: the export has no published files`,
    { type: 'file', id: path },
    { browserKey: expired ? 'export.expired' : 'export.not.done' },
  );

/**
 * A link naming a run (R-ROB-9) whose files were deleted after the export published newer runs: 410, so a resuming
 * client fails loudly instead of appending another run's bytes.
 */
export const runGone = (runId: number) =>
  new AppError(410, 'user', 'run_gone', `The files of run ${runId} are no longer kept: the export has published a newer run`, {
    type: 'run',
    id: runId,
  });

export const fileNotFound = (path: string) =>
  new AppError(404, 'user', 'not_found', `file ${path} not found`, { type: 'file', id: path });
