import { z } from 'zod';
import { invalidValue } from '../errors.js';
import { literalRefusal } from './allow-hosts.js';

// The shared zod -> error code mapping (docs/errors.md); re-exported so transport files keep one import.
export { joinPath, parseWith } from '../validation.js';

/** Host names or IP literals (IPv6 without brackets); no scheme, user info, port or path. */
export const hostSchema = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.\-:]+$/, 'must be a host name or IP address without scheme or port');

export const portSchema = z.number().int().min(1).max(65535);

/** A remote folder; relative paths are relative to the login's home folder. */
export const remotePathSchema = z
  .string()
  .max(1024)
  // NUL and backslash have no portable meaning on remote servers; refusing them keeps the layout predictable.
  .refine((p) => !/[\u0000\\]/.test(p), 'must not contain NUL or backslash characters');

/**
 * R-ROB-5: an IP literal that the allow list refuses can never be delivered to, so it is a 400 on save rather than a
 * failure at 3 a.m. Host names are judged when the delivery resolves them.
 */
export function refuseLiteralHost(host: string, allowHosts: readonly string[], at: string): void {
  const why = literalRefusal(host, allowHosts);
  if (why) throw invalidValue(at, `Attribute ${at}: ${why}`);
}

/** `new URL` that answers null instead of throwing, for zod refinements (a throw there would be a 500). */
const tryUrl = (value: string): URL | null => (URL.canParse(value) ? new URL(value) : null);

/** An http(s) URL without credentials: webhook URLs and S3 endpoints. */
export const httpUrlSchema = z
  .string()
  .max(4096)
  .refine((u) => tryUrl(u) !== null, 'must be a URL')
  .refine((u) => /^https?:$/.test(tryUrl(u)?.protocol ?? 'http:'), 'must be an http(s) URL')
  .refine((u) => !tryUrl(u)?.username && !tryUrl(u)?.password, 'must not contain credentials');
