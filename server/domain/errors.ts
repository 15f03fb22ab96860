import type { DbFailure } from '../infra/db/pg-errors.js';

/**
 * The one error model and its catalogue (docs/errors.md mirrors ERRORS; test/docs/errors-documented.test.ts checks
 * both ways). Domain code throws AppErrors whose code is one of ERRORS, typed: a code, realm or status the
 * catalogue does not declare does not compile. The HTTP error middleware renders them, and turns anything else into
 * a logged `error.server.*` with a uuid.
 */
export type Realm = 'api' | 'user' | 'server';

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

interface ErrorSpec {
  /** The statuses this code is answered with; the first is the usual one. */
  readonly statuses: readonly number[];
  /** Its browser key (R-FILE-7), possibly depending on the parameters; none: `server.error`. */
  readonly browser?: BrowserErrorKey | ((parameters: Record<string, unknown>) => BrowserErrorKey | undefined);
}

/** Every code the server produces, with its statuses and browser key. Meanings: docs/errors.md. */
export const ERRORS = {
  'error.api.invalid_value': {
    statuses: [400],
    // A malformed export id names no export; a malformed path or run, or a folder given to file/, names no file.
    browser: (p) => (p.path === 'export-id' ? 'export.not.found' : p.path === 'path' || p.path === 'run' ? 'export.file.not.found' : undefined),
  },
  'error.api.type_mismatch': { statuses: [400] },
  'error.api.attribute_not_accepted': { statuses: [400] },
  'error.api.attribute_expected': { statuses: [400] },
  'error.api.invalid_content': { statuses: [400, 415] },
  /** The status of a route that answered an error without a body: any error status. */
  'error.api.generic': { statuses: [] },
  'error.api.not_found': { statuses: [404] },
  'error.api.method_not_allowed': { statuses: [405] },
  'error.api.payload_too_large': { statuses: [413] },
  'error.user.not_authenticated': { statuses: [403, 401], browser: 'session.not.authenticated' },
  'error.user.session_not_found': { statuses: [400] },
  'error.user.login_failed': { statuses: [400] },
  'error.user.too_many_attempts': { statuses: [429], browser: 'export.too.many.attempts' },
  'error.user.too_many_waits': { statuses: [429] },
  'error.user.not_found': {
    statuses: [404],
    browser: (p) => (p.type === 'export' ? 'export.not.found' : 'export.file.not.found'),
  },
  'error.user.version_conflict': { statuses: [400] },
  'error.user.conflict': { statuses: [409] },
  'error.user.export_name_required': { statuses: [400] },
  'error.user.export_already_running': { statuses: [400] },
  'error.user.export_not_running': { statuses: [404] },
  'error.user.export_busy': { statuses: [409] },
  'error.user.invalid_passkey': { statuses: [403], browser: 'export.invalid.passkey' },
  'error.user.export_expired': { statuses: [410], browser: 'export.expired' },
  'error.user.run_gone': { statuses: [410], browser: 'export.run.gone' },
  'error.server.generic': { statuses: [500] },
  'error.server.database': { statuses: [500] },
  'error.server.database_busy': { statuses: [503] },
  'error.server.database_unavailable': { statuses: [503] },
  'error.server.internal_file_error': { statuses: [500] },
  'error.server.query_timeout': { statuses: [503] },
} as const satisfies Record<`error.${Realm}.${string}`, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;
type RealmOf<C extends ErrorCode> = C extends `error.${infer R}.${string}` ? R : never;
type NameOf<C extends ErrorCode> = C extends `error.${Realm}.${infer N}` ? N : never;
type StatusOf<C extends ErrorCode> = (typeof ERRORS)[C]['statuses'] extends readonly [] ? number : (typeof ERRORS)[C]['statuses'][number];
/** Codes of one realm, by name: `ErrorName<'api'>` is `'invalid_value' | 'type_mismatch' | …`. */
export type ErrorName<R extends Realm> = { [C in ErrorCode]: RealmOf<C> extends R ? NameOf<C> : never }[ErrorCode];

interface ErrorOptions {
  cause?: unknown;
  /** Overrides the catalogue's browser key for this one error (e.g. a missing file of an unpublished export). */
  browserKey?: BrowserErrorKey;
}

/** `(status, realm, name, description, parameters?, options?)` for exactly the combinations ERRORS declares. */
type AppErrorArgs = {
  [C in ErrorCode]: [
    status: StatusOf<C>,
    realm: RealmOf<C>,
    name: NameOf<C>,
    description: string,
    parameters?: Record<string, unknown>,
    options?: ErrorOptions,
  ];
}[ErrorCode];

export class AppError extends Error {
  readonly realm: Realm;
  readonly code: ErrorCode;
  readonly status: number;
  readonly parameters: Record<string, unknown>;
  readonly browserKey: BrowserErrorKey | undefined;

  constructor(...[status, realm, name, description, parameters = {}, options = {}]: AppErrorArgs) {
    super(description, { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.realm = realm;
    this.code = `error.${realm}.${name}` as ErrorCode;
    this.parameters = parameters;
    this.browserKey = options.browserKey;
  }

  /** The same error (code, status, browser key) with another description and parameters, e.g. re-pathed. */
  withDetails(description: string, parameters: Record<string, unknown>): AppError {
    const copy = Object.create(AppError.prototype) as AppError;
    Object.assign(copy, this, { message: description, parameters });
    return copy;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** The browser key of an error (R-FILE-7): its own, else the catalogue's; unknown and server errors: `server.error`. */
export const browserErrorKey = (e: AppError): BrowserErrorKey => {
  if (e.browserKey) return e.browserKey;
  const spec: ErrorSpec | undefined = ERRORS[e.code];
  const key = typeof spec?.browser === 'function' ? spec.browser(e.parameters) : spec?.browser;
  return key ?? 'server.error';
};

/**
 * A run that failed for a reason its owner can act on: `userMessage` is the sentence `_failure_reason` shows.
 * Anything else that fails a run is an internal error (a generic sentence; the log has the details).
 */
export class RunFailure extends Error {
  constructor(
    readonly userMessage: string,
    options?: { cause?: unknown },
  ) {
    super(userMessage, options);
    this.name = 'RunFailure';
  }
}

/** 400 error.api.* for malformed input; `path` names the attribute (e.g. `export.csv.delimiter`). */
export const apiError = (
  name: Exclude<ErrorName<'api'>, 'generic' | 'not_found' | 'method_not_allowed' | 'payload_too_large'>,
  description: string,
  parameters: Record<string, unknown> = {},
) => new AppError(400, 'api', name, description, parameters);

export const invalidValue = (path: string, description: string, extra: Record<string, unknown> = {}) =>
  apiError('invalid_value', description, { path, ...extra });

export const notFound = (type: string, id: unknown) =>
  new AppError(404, 'user', 'not_found', `${type} ${String(id)} not found`, { type, id });

/** error.user.<name> with one of the statuses ERRORS declares for it. */
export const userError = <N extends ErrorName<'user'>>(
  status: StatusOf<`error.user.${N}` & ErrorCode>,
  name: N,
  description: string,
  parameters: Record<string, unknown> = {},
) => new AppError(...([status, 'user', name, description, parameters] as AppErrorArgs));

export const notAuthenticated = (description = 'The session is not authenticated', reason?: string) =>
  new AppError(403, 'user', 'not_authenticated', description, reason ? { reason } : {});

export const tooManyAttempts = (retryAfterSeconds: number) =>
  new AppError(429, 'user', 'too_many_attempts', 'Too many attempts, try again later', { retry_after: retryAfterSeconds });

export const payloadTooLarge = (limit: number) =>
  new AppError(413, 'api', 'payload_too_large', `The request body is larger than ${limit} bytes`, { limit });

export const serverError = (name: 'generic' | 'database' | 'internal_file_error', description: string, cause?: unknown) =>
  new AppError(500, 'server', name, description, {}, { cause });

/**
 * The answer for a database failure that reached the HTTP layer (infra/db/pg-errors.ts classifies, this maps):
 * a statement cancelled by STATEMENT_TIMEOUT is not a defect but a query too costly for the time one statement
 * gets; a unique violation is a concurrent request that won a race; deadlocks and serialization failures that
 * outlived the transaction's retries, and a lost connection, are worth retrying later; anything else is ours.
 */
export function errorFromDb(failure: DbFailure, cause: unknown): AppError {
  switch (failure) {
    case 'statement_timeout':
      return new AppError(
        503,
        'server',
        'query_timeout',
        'The query took longer than the server allows for one statement and was cancelled; narrow the search or try again later',
        {},
        { cause },
      );
    case 'unique_violation':
      return new AppError(409, 'user', 'conflict', 'A concurrent request changed the same data first; reload and try again', {}, { cause });
    case 'deadlock':
    case 'serialization_failure':
      return new AppError(503, 'server', 'database_busy', 'The database was too busy with concurrent changes; try again', {}, { cause });
    case 'connection_lost':
      return new AppError(503, 'server', 'database_unavailable', 'The database cannot be reached at the moment; try again later', {}, { cause });
    case 'other':
      return new AppError(500, 'server', 'database', 'A database operation failed', {}, { cause });
  }
}
