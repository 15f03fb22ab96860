/** PostgreSQL error codes we meet on purpose, mapped in one place. */
const PG = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  queryCanceled: '57014',
  invalidTextRepresentation: '22P02',
  adminShutdown: '57P01',
} as const;

const pgCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;

export const isRetryable = (e: unknown) => {
  const code = pgCode(e);
  return code === PG.deadlockDetected || code === PG.serializationFailure;
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
// 57P01..03: admin/crash shutdown, cannot connect now; 3D000: the database is gone; 53300: too many connections.
const SERVER_GONE = new Set(['57P01', '57P02', '57P03', '3D000', '53300']);
const DRIVER_MESSAGES =
  /Connection terminated|Connection ended unexpectedly|connection error|timeout exceeded when trying to connect|Timeout acquiring a connection|Client was closed/i;

/** Whether `err` says the database cannot be reached (as opposed to a query that failed on a working connection). */
export function isConnectionError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = pgCode(e);
    if (code && (NETWORK_CODES.has(code) || SERVER_GONE.has(code) || code.startsWith('08'))) return true;
    if ((e as Error).name === 'KnexTimeoutError' || DRIVER_MESSAGES.test(String((e as Error).message ?? '')))
      return true;
  }
  return false;
}

/** What kind of database failure an error is; the domain maps each to an error code (errors.ts errorFromDb). */
export type DbFailure = 'unique_violation' | 'deadlock' | 'serialization_failure' | 'statement_timeout' | 'connection_lost' | 'other';

/**
 * Classifies an error that came out of the database layer; null when it is not one (Node's ERR_* codes, our own
 * errors). PostgreSQL's own errors carry a severity; a lost connection shows up as a network code, a connection
 * class (08…) or shutdown code, or a driver/pool message.
 */
export function classifyDbError(e: unknown): DbFailure | null {
  if (isConnectionError(e)) return 'connection_lost';
  const code = pgCode(e);
  if (!code || typeof e !== 'object' || e === null || !('severity' in e)) return null;
  switch (code) {
    case PG.uniqueViolation:
      return 'unique_violation';
    case PG.deadlockDetected:
      return 'deadlock';
    case PG.serializationFailure:
      return 'serialization_failure';
    case PG.queryCanceled:
      return 'statement_timeout';
    default:
      return 'other';
  }
}
