import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { invalidValue } from '../errors.js';

/**
 * The one path-safety gate for `<path>` in file/, zip/ and download/ URLs (R-FILE-8).
 *
 * Input: the raw, still percent-encoded path after the route prefix (e.g. `a%20b/c.txt`); hand it over undecoded,
 * because this function decodes exactly once. Rules, in order:
 * - invalid percent-encoding (`%` not followed by two hex digits, or bytes that aren't UTF-8) → rejected;
 * - encoded separators `%2F` / `%5C` (any case) → rejected: a '/' that isn't a separator is never meaningful here,
 *   and decoding it would let one segment smuggle in several;
 * - `''` and `'/'` name the root and give `''`; any other leading '/' (absolute path) → rejected;
 * - one trailing '/' is allowed (a folder) and dropped; other empty segments (`a//b`) → rejected;
 * - after decoding: backslash, NUL, C0/C1 control characters, lone surrogates → rejected;
 * - `.` and `..` segments → rejected, not normalised: a client never needs them, and normalising would make
 *   several URLs name the same file (caches, ETags) for no gain;
 * - a first segment that looks like a drive (`C:`) → rejected;
 * - no Unicode normalisation: names must match `_files` exactly; look-alikes (U+2215, U+FF0E) are plain characters.
 * Double encoding stays literal: `%252e%252e` decodes once to the file name `%2e%2e`, which is not `..`.
 * Returns the decoded relative path ('' for the root). Throws invalidValue('path', …).
 */
const MAX_PATH_BYTES = 4096;

const fail = (why: string): never => {
  throw invalidValue('path', `Invalid path: ${why}`);
};

export const resolveExportPath = (raw: string): string => {
  if (typeof raw !== 'string') return fail('not a string');
  if (raw.length > MAX_PATH_BYTES * 3) fail('too long');
  if (/%(?![0-9a-fA-F]{2})/.test(raw)) fail('invalid percent-encoding');
  if (/%(2f|5c)/i.test(raw)) fail('encoded separator');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return fail('percent-encoding is not UTF-8');
  }
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(decoded)) fail('lone surrogate');
  if (Buffer.byteLength(decoded) > MAX_PATH_BYTES) fail('too long');
  if (/[\u0000-\u001f\u007f-\u009f]/.test(decoded)) fail('control character');
  if (decoded.includes('\\')) fail('backslash');
  if (decoded === '' || decoded === '/') return '';
  if (decoded.startsWith('/')) fail('absolute path');
  const rel = decoded.endsWith('/') ? decoded.slice(0, -1) : decoded;
  const segments = rel.split('/');
  for (const seg of segments) {
    if (seg === '') fail('empty segment');
    if (seg === '.' || seg === '..') fail('dot segment');
  }
  if (/^[A-Za-z]:/.test(segments[0])) fail('drive letter');
  return rel;
};

/** Whether `absolutePath` is `root` or inside it (lexically; pass realpaths to defeat symlinks). */
export const isWithin = (root: string, absolutePath: string): boolean => {
  const rel = path.relative(path.resolve(root), path.resolve(absolutePath));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
};

/**
 * Local-folder check: the real path of `root/relative` (symlinks resolved) must stay inside the real root.
 * Returns that real path; rejects with ENOENT from realpath when missing, invalidValue('path') when outside.
 */
export const realpathWithin = async (root: string, relative: string): Promise<string> => {
  const realRoot = await realpath(root);
  const real = await realpath(path.join(realRoot, relative));
  if (!isWithin(realRoot, real)) fail('outside the export');
  return real;
};
