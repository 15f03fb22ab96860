import { z } from 'zod';

// The shared zod -> SPEC §2 mapping; re-exported so transport files keep one import.
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
