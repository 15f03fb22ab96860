import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { parseSecretKey } from './infra/secrets/secret-box.js';

/**
 * One frozen, validated configuration object built from DEFAULTS + environment (R-RUN-4).
 * Nothing reads process.env elsewhere: constructors take this object, so tests can build their own.
 * Every variable here is listed in the README with its default.
 */
export const DEFAULTS = {
  PORT: '8080',
  HOST: '0.0.0.0',
  DATABASE_URL: '',
  DATA_DIR: './data',
  EMBEDDED_PG_PORT: '54329',
  PUBLIC_URL: '',
  FRONTEND_URL: '',
  SECRET_KEY: '',
  SMTP_URL: '',
  STORAGE: 'local',
  S3_ENDPOINT: '',
  S3_REGION: 'us-east-1',
  S3_BUCKET: '',
  S3_PREFIX: '',
  S3_ACCESS_KEY_ID: '',
  S3_SECRET_ACCESS_KEY: '',
  S3_FORCE_PATH_STYLE: 'false',
  WORKER_CONCURRENCY: '2',
  ROLE: 'all',
  EXPORT_TTL_DAYS: '3',
  PREVIOUS_RUNS_TTL: '24h',
  PREVIOUS_RUNS_KEPT: '2',
  TRANSPORT_ALLOW_HOSTS: '',
  TRANSPORT_DIRECTORY_ROOTS: '',
  DELIVERY_CONCURRENCY: '8',
  DELIVERY_CONCURRENCY_PER_OWNER: '4',
  WEBHOOK_DEADLINE: '60s',
  MAIL_MAX_RECIPIENTS: '20',
  MAIL_MAX_PER_DAY: '100',
  MAIL_MAX_RECIPIENTS_PER_DAY: '500',
  LOG_LEVEL: 'info',
  NODE_ENV: 'development',
  SESSION_TTL: '24h',
  DEMO_PASSWORD: 'demo',
  SCHEDULE_DEFAULT_TIME: '03:00',
  SCHEDULE_CATCHUP: '24h',
  BODY_LIMIT: '1048576',
  UPLOAD_LIMIT: '1073741824',
  RUN_LEASE: '30s',
  TZ: '',
  STATEMENT_TIMEOUT: '30s',
  OBJECT_MAX_BYTES: '16777216',
  BATCH_MAX_BYTES: '16777216',
  HTTP_HEADERS_TIMEOUT: '20s',
  HTTP_REQUEST_TIMEOUT: '1h',
  HTTP_KEEP_ALIVE_TIMEOUT: '5s',
  HTTP_IDLE_TIMEOUT: '2m',
  METRICS_PORT: '9464',
  METRICS_TOKEN: '',
  SHUTDOWN_DRAIN: '0s',
} as const;

type EnvName = keyof typeof DEFAULTS;

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "24h", "30m", "90s", "1500ms" or plain seconds -> milliseconds. */
export function parseDuration(value: string): number | null {
  const m = DURATION.exec(value.trim());
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] ?? 's'];
}

const int = (min: number, max: number) =>
  z
    .string()
    .refine(
      (v) => /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max,
      `must be a whole number from ${min} to ${max}`,
    )
    .transform(Number);
const duration = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null || ms <= 0 || ms > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration from 1ms to 3650d, such as 90s, 30m, 24h or 3d' });
    return z.NEVER;
  }
  return ms;
});
const durationOrZero = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null || ms > 3_600_000) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration from 0s to 1h, such as 0s, 10s or 1m' });
    return z.NEVER;
  }
  return ms;
});
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });
const urlWith = (schemes: string[], what: string) =>
  z.string().refine((v) => v === '' || hasScheme(v, schemes), `must be empty or ${what}`);
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const bool = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true, false, 1 or 0' })
  .transform((v) => v === 'true' || v === '1');

// Durations feed setTimeout/setInterval and date arithmetic; ten years is far beyond any sensible value.
const MAX_DURATION_MS = 3650 * 86_400_000;

function hasScheme(value: string, schemes: string[]): boolean {
  try {
    const u = new URL(value);
    return schemes.includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}

/** RFC 1123 host name (letters, digits, hyphens; dot-separated labels of 1..63) or an IPv4/IPv6 address. */
function isHost(value: string): boolean {
  if (isIP(value)) return true;
  if (value.length > 253) return false;
  return value.split('.').every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(label));
}

const schema = z.object({
  PORT: int(0, 65535),
  HOST: z.string().refine(isHost, 'must be an IP address or a host name, such as 0.0.0.0, :: or localhost'),
  DATABASE_URL: urlWith(['postgres:', 'postgresql:'], 'a postgres:// URL'),
  DATA_DIR: z.string().min(1, 'must be a folder path, not empty'),
  EMBEDDED_PG_PORT: int(1, 65535),
  PUBLIC_URL: urlWith(['http:', 'https:'], 'an http:// or https:// URL'),
  FRONTEND_URL: urlWith(['http:', 'https:'], 'an http:// or https:// URL'),
  SECRET_KEY: z
    .string()
    .refine((v) => v.trim() === '' || isSecretKey(v), 'must be 64 hex characters or the base64 encoding of 32 bytes'),
  SMTP_URL: urlWith(['smtp:', 'smtps:'], 'an smtp:// or smtps:// URL'),
  STORAGE: oneOf(['local', 's3']),
  S3_ENDPOINT: urlWith(['http:', 'https:'], 'an http:// or https:// URL'),
  S3_REGION: z.string(),
  S3_BUCKET: z.string(),
  S3_PREFIX: z
    .string()
    .max(512)
    .refine((v) => !v.split('/').some((seg) => seg === '.' || seg === '..'), 'must not hold . or .. segments'),
  S3_ACCESS_KEY_ID: z.string(),
  S3_SECRET_ACCESS_KEY: z.string(),
  S3_FORCE_PATH_STYLE: bool,
  WORKER_CONCURRENCY: int(0, 64),
  ROLE: oneOf(['all', 'api', 'worker']),
  EXPORT_TTL_DAYS: int(1, 3650),
  PREVIOUS_RUNS_TTL: duration,
  PREVIOUS_RUNS_KEPT: int(0, 100),
  TRANSPORT_ALLOW_HOSTS: list,
  TRANSPORT_DIRECTORY_ROOTS: list.superRefine((roots, ctx) => {
    for (const root of roots) {
      const problem = folderProblem(root) ?? nestingProblem(root, roots);
      if (problem)
        ctx.addIssue({
          code: 'custom',
          message: `must list existing absolute folders, none inside another, separated by commas; ${JSON.stringify(root)} ${problem}`,
        });
    }
  }),
  DELIVERY_CONCURRENCY: int(1, 1024),
  DELIVERY_CONCURRENCY_PER_OWNER: int(1, 1024),
  WEBHOOK_DEADLINE: duration,
  MAIL_MAX_RECIPIENTS: int(1, 1000),
  MAIL_MAX_PER_DAY: int(1, 1_000_000),
  MAIL_MAX_RECIPIENTS_PER_DAY: int(1, 100_000_000),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  NODE_ENV: z.string(),
  SESSION_TTL: duration,
  DEMO_PASSWORD: z.string().min(1, 'must not be empty'),
  SCHEDULE_DEFAULT_TIME: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day HH:MM from 00:00 to 23:59'),
  SCHEDULE_CATCHUP: duration,
  BODY_LIMIT: int(1024, 1 << 30),
  UPLOAD_LIMIT: int(1, Number.MAX_SAFE_INTEGER),
  RUN_LEASE: duration,
  TZ: z
    .string()
    .refine(
      (v) => v === '' || IANAZone.isValidZone(v),
      'must be empty (UTC) or an IANA time zone such as Europe/Berlin or UTC',
    ),
  STATEMENT_TIMEOUT: duration,
  OBJECT_MAX_BYTES: int(1024, 1 << 30),
  BATCH_MAX_BYTES: int(1 << 16, 1 << 30),
  HTTP_HEADERS_TIMEOUT: duration,
  HTTP_REQUEST_TIMEOUT: duration,
  HTTP_KEEP_ALIVE_TIMEOUT: duration,
  HTTP_IDLE_TIMEOUT: duration,
  METRICS_PORT: int(0, 65535),
  SHUTDOWN_DRAIN: durationOrZero,
  METRICS_TOKEN: z.string().refine((v) => v === '' || /^[\x21-\x7e]{16,}$/.test(v), 'must be empty or at least 16 printable characters without spaces'),
});

function folderProblem(p: string): string | null {
  if (!path.isAbsolute(p)) return 'is not an absolute path';
  try {
    return statSync(p).isDirectory() ? null : 'is not a folder';
  } catch {
    return 'does not exist';
  }
}

/**
 * Each user delivers below `<root>/<user id>/`: with one root inside another, user 9's `<outer>/7/…` would be user
 * 7's `<inner>/…` folder, so roots must not nest.
 */
function nestingProblem(root: string, roots: string[]): string | null {
  const inner = path.resolve(root);
  for (const other of roots) {
    const outer = path.resolve(other);
    if (outer !== inner && inner.startsWith(`${outer}${path.sep}`)) return `is inside ${JSON.stringify(other)}`;
  }
  return null;
}

function isSecretKey(value: string): boolean {
  try {
    parseSecretKey(value);
    return true;
  } catch {
    return false;
  }
}

// Values of these variables are never echoed in an error: they are secrets, or URLs that may carry a password.
const SECRET_VARS = new Set<string>(['SECRET_KEY', 'S3_SECRET_ACCESS_KEY', 'DEMO_PASSWORD', 'S3_ACCESS_KEY_ID', 'METRICS_TOKEN']);
const URL_VARS = new Set<string>(['DATABASE_URL', 'SMTP_URL', 'PUBLIC_URL', 'FRONTEND_URL', 'S3_ENDPOINT']);

/**
 * Everything between `scheme://` and the LAST `@` of the authority is userinfo, as URL parsers read it; a password
 * may hold `@`, `/` or `:`, so none of them ends the mask (a value that is not a URL at all is masked whole).
 */
function maskUserinfo(value: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value);
  if (!scheme) return value.includes('@') ? '***' : value;
  const rest = value.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  return at < 0 ? value : `${scheme[0]}***${rest.slice(at)}`;
}

function shown(name: string, value: string): string {
  if (SECRET_VARS.has(name)) return '';
  if (URL_VARS.has(name)) return `=${JSON.stringify(maskUserinfo(value))}`;
  return `=${JSON.stringify(value)}`;
}

export type Config = Readonly<
  Omit<z.infer<typeof schema>, 'PUBLIC_URL' | 'DATA_DIR'> & {
    PUBLIC_URL: string;
    DATA_DIR: string;
    production: boolean;
  }
>;

export class ConfigError extends Error {}

/** Builds the config from `env` (process.env by default); throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(DEFAULTS) as EnvName[]) input[key] = env[key] ?? DEFAULTS[key];
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return `${name}${shown(name, input[name] ?? '')}: ${i.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = parsed.data;
  // STORAGE=s3 without a bucket would fail on the first upload; say so at start instead (R-SCALE-1).
  if (c.STORAGE === 's3' && c.S3_BUCKET.trim() === '') {
    throw new ConfigError('Invalid configuration:\n  S3_BUCKET: is required when STORAGE=s3');
  }
  if (c.STORAGE === 's3' && (c.S3_ACCESS_KEY_ID === '') !== (c.S3_SECRET_ACCESS_KEY === '')) {
    throw new ConfigError(
      'Invalid configuration:\n  S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: give both, or neither (the default AWS credential chain)',
    );
  }
  // A key generated into DATA_DIR would make stored transport secrets unreadable on the next machine (R-TR-4).
  if (c.NODE_ENV === 'production' && c.SECRET_KEY.trim() === '') {
    throw new ConfigError(
      'Invalid configuration:\n  SECRET_KEY: is required when NODE_ENV=production (64 hex characters or the base64 encoding of 32 bytes)',
    );
  }
  return Object.freeze({
    ...c,
    DATA_DIR: path.resolve(c.DATA_DIR),
    PUBLIC_URL: (c.PUBLIC_URL || `http://localhost:${c.PORT}`).replace(/\/+$/, ''),
    FRONTEND_URL: c.FRONTEND_URL.replace(/\/+$/, ''),
    production: c.NODE_ENV === 'production',
  });
}
