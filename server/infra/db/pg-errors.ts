import { AppError } from '../../domain/errors.js';

/** PostgreSQL error codes we meet on purpose, mapped in one place. */
export const PG = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  queryCanceled: '57014',
  invalidTextRepresentation: '22P02',
} as const;

export const pgCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;

export const isRetryable = (e: unknown) => {
  const code = pgCode(e);
  return code === PG.deadlockDetected || code === PG.serializationFailure;
};

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
