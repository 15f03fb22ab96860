/**
 * The one error model (docs/errors.md lists every code). Domain code throws AppErrors made by the factories below;
 * the HTTP error middleware renders them, and turns anything else into a logged `error.server.*` with a uuid.
 */
export type Realm = 'api' | 'user' | 'server';

export class AppError extends Error {
  readonly realm: Realm;
  readonly code: string;
  readonly status: number;
  readonly parameters: Record<string, unknown>;

  constructor(
    status: number,
    realm: Realm,
    name: string,
    description: string,
    parameters: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(description, options);
    this.name = 'AppError';
    this.status = status;
    this.realm = realm;
    this.code = `error.${realm}.${name}`;
    this.parameters = parameters;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** 400 error.api.* for malformed input; `path` names the attribute (e.g. `export.csv.delimiter`). */
export const apiError = (
  name:
    | 'invalid_value'
    | 'type_mismatch'
    | 'attribute_not_accepted'
    | 'attribute_expected'
    | 'invalid_content'
    | 'generic',
  description: string,
  parameters: Record<string, unknown> = {},
) => new AppError(400, 'api', name, description, parameters);

export const invalidValue = (path: string, description: string, extra: Record<string, unknown> = {}) =>
  apiError('invalid_value', description, { path, ...extra });

export const notFound = (type: string, id: unknown) =>
  new AppError(404, 'user', 'not_found', `${type} ${String(id)} not found`, { type, id });

export const userError = (status: number, name: string, description: string, parameters: Record<string, unknown> = {}) =>
  new AppError(status, 'user', name, description, parameters);

export const notAuthenticated = (description = 'The session is not authenticated', reason?: string) =>
  new AppError(403, 'user', 'not_authenticated', description, reason ? { reason } : {});

export const tooManyAttempts = (retryAfterSeconds: number) =>
  new AppError(429, 'user', 'too_many_attempts', 'Too many attempts, try again later', { retry_after: retryAfterSeconds });

export const payloadTooLarge = (limit: number) =>
  new AppError(413, 'api', 'payload_too_large', `The request body is larger than ${limit} bytes`, { limit });

export const serverError = (name: 'generic' | 'database' | 'internal_file_error', description: string, cause?: unknown) =>
  new AppError(500, 'server', name, description, {}, { cause });
