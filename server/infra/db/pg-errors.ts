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
