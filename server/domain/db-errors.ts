import { pgCode, PG } from '../infra/db/pg-errors.js';
import { AppError } from './errors.js';

/**
 * The response for a PostgreSQL error that reached the HTTP layer (docs/errors.md). A statement cancelled by
 * STATEMENT_TIMEOUT (57014) is not a defect: the query (usually a search) was too costly for the time the API grants
 * one statement, so the client gets a 503 saying so; anything else is an internal `error.server.database`.
 */
export function appErrorFromPg(e: unknown): AppError | null {
  const code = pgCode(e);
  // Only PostgreSQL's own errors (they carry a severity); Node's ERR_* / E* codes are not database failures.
  if (!code || typeof e !== 'object' || e === null || !('severity' in e)) return null;
  if (code === PG.queryCanceled) {
    return new AppError(
      503,
      'server',
      'query_timeout',
      'The query took longer than the server allows for one statement and was cancelled; narrow the search or try again later',
      {},
      { cause: e },
    );
  }
  return new AppError(500, 'server', 'database', 'A database operation failed', {}, { cause: e });
}
