import path from 'node:path';
import { z } from 'zod';

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
  S3_ACCESS_KEY_ID: '',
  S3_SECRET_ACCESS_KEY: '',
  S3_FORCE_PATH_STYLE: 'false',
  WORKER_CONCURRENCY: '2',
  ROLE: 'all',
  EXPORT_TTL_DAYS: '3',
  TRANSPORT_ALLOW_HOSTS: '',
  TRANSPORT_DIRECTORY_ROOTS: '',
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
} as const;

export type EnvName = keyof typeof DEFAULTS;

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "24h", "30m", "90s", "1500ms" or plain seconds -> milliseconds. */
export function parseDuration(value: string): number | null {
  const m = DURATION.exec(value.trim());
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] ?? 's'];
}

const int = (min: number, max: number) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));
const duration = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 90s, 30m, 24h or 3d' });
    return z.NEVER;
  }
  return ms;
});
const url = z.union([z.literal(''), z.url()]);
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const schema = z.object({
  PORT: int(0, 65535),
  HOST: z.string().min(1),
  DATABASE_URL: z.union([z.literal(''), z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')]),
  DATA_DIR: z.string().min(1),
  EMBEDDED_PG_PORT: int(1, 65535),
  PUBLIC_URL: url,
  FRONTEND_URL: url,
  SECRET_KEY: z.string(),
  SMTP_URL: z.union([z.literal(''), z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')]),
  STORAGE: z.enum(['local', 's3']),
  S3_ENDPOINT: url,
  S3_REGION: z.string(),
  S3_BUCKET: z.string(),
  S3_ACCESS_KEY_ID: z.string(),
  S3_SECRET_ACCESS_KEY: z.string(),
  S3_FORCE_PATH_STYLE: bool,
  WORKER_CONCURRENCY: int(0, 64),
  ROLE: z.enum(['all', 'api', 'worker']),
  EXPORT_TTL_DAYS: int(1, 3650),
  TRANSPORT_ALLOW_HOSTS: list,
  TRANSPORT_DIRECTORY_ROOTS: list,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  NODE_ENV: z.string(),
  SESSION_TTL: duration,
  DEMO_PASSWORD: z.string().min(1),
  SCHEDULE_DEFAULT_TIME: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM'),
  SCHEDULE_CATCHUP: duration,
  BODY_LIMIT: int(1024, 1 << 30),
  UPLOAD_LIMIT: int(1, Number.MAX_SAFE_INTEGER),
  RUN_LEASE: duration,
  TZ: z.string(),
  STATEMENT_TIMEOUT: duration,
  OBJECT_MAX_BYTES: int(1024, 1 << 30),
  BATCH_MAX_BYTES: int(1 << 16, 1 << 30),
  HTTP_HEADERS_TIMEOUT: duration,
  HTTP_REQUEST_TIMEOUT: duration,
  HTTP_KEEP_ALIVE_TIMEOUT: duration,
  HTTP_IDLE_TIMEOUT: duration,
});

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
    const lines = parsed.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(input[String(i.path[0])])}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = parsed.data;
  // The S3 backend (R-SCALE-1) is not built yet; refusing is better than silently storing files locally.
  if (c.STORAGE === 's3') throw new ConfigError('Invalid configuration:\n  STORAGE="s3": the S3 storage backend is not available yet; use local');
  return Object.freeze({
    ...c,
    DATA_DIR: path.resolve(c.DATA_DIR),
    PUBLIC_URL: (c.PUBLIC_URL || `http://localhost:${c.PORT}`).replace(/\/+$/, ''),
    FRONTEND_URL: c.FRONTEND_URL.replace(/\/+$/, ''),
    production: c.NODE_ENV === 'production',
  });
}
