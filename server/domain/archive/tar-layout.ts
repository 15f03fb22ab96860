import { type ArchiveEntry, assertEntry, DEFAULT_MODE } from './entry.js';

/**
 * Deterministic POSIX (pax) TAR: one ustar header per file, preceded by a pax
 * extended header (type 'x', fixed name `././@PaxHeader` like Python writes) only when the path is non-ASCII or
 * can't be split into prefix ≤ 155 / name ≤ 100 at a '/', or when the size needs more than 11 octal digits.
 * Sizes ≥ 8 GiB are written twice, consistently: a pax `size` record (POSIX readers) and GNU base-256 in the
 * ustar size field (readers ignoring pax). GNU tar, bsdtar and Python read both. uid/gid 0, empty uname/gname,
 * permission bits of `mode` (default 0644), integer mtime; ends with 1024 zero bytes, no record padding.
 */

export const TAR_LAYOUT_VERSION = 1;

const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777; // 11 octal digits = 8 GiB − 1
const PAX_NAME = '././@PaxHeader';
const END = 1024;

export interface TarLayout {
  readonly kind: 'tar';
  readonly entries: readonly ArchiveEntry[];
  readonly count: number;
  /** Bytes of pax header + ustar header before each entry's data. */
  readonly headerLengths: Uint32Array;
  /** Start of each entry (its pax header if any); [count] = start of the 1024 end zeros. */
  readonly offsets: Float64Array;
  readonly totalSize: number;
}

const isAscii = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e) return false;
  return true;
};

/** ustar [prefix, name] for an ASCII path, or null when the path needs a pax `path` record. */
export const splitUstarName = (name: string): [string, string] | null => {
  if (!isAscii(name)) return null;
  if (name.length <= 100) return ['', name];
  // The prefix should be as long as allowed, so the last '/' with prefix ≤ 155 and name ≤ 100 wins.
  for (let k = Math.min(name.length - 2, 155); k > 0; k--) {
    if (name.charCodeAt(k) === 0x2f && name.length - k - 1 <= 100) return [name.slice(0, k), name.slice(k + 1)];
    if (name.length - k - 1 > 100) break;
  }
  return null;
};

/** Length of a pax record "<len> key=value\n" whose <len> counts its own digits. */
const recordLength = (key: string, value: string): number => {
  const body = 3 + Buffer.byteLength(key) + Buffer.byteLength(value);
  let digits = String(body).length;
  while (String(body + digits).length !== digits) digits++;
  return body + digits;
};

const paxRecords = (e: ArchiveEntry): [string, string][] => {
  const records: [string, string][] = [];
  if (!splitUstarName(e.name)) records.push(['path', e.name]);
  if (e.size > MAX_OCTAL_SIZE) records.push(['size', String(e.size)]);
  return records;
};

const paxLength = (e: ArchiveEntry): number => {
  // The common case (ASCII name ≤ 100 bytes, size < 8 GiB) costs no allocation.
  if (e.size <= MAX_OCTAL_SIZE && e.name.length <= 100 && isAscii(e.name)) return 0;
  let p = 0;
  for (const [k, v] of paxRecords(e)) p += recordLength(k, v);
  return p === 0 ? 0 : BLOCK + Math.ceil(p / BLOCK) * BLOCK;
};

export const tarPadding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

export const computeTarLayout = (entries: readonly ArchiveEntry[]): TarLayout => {
  const n = entries.length;
  const headerLengths = new Uint32Array(n);
  const offsets = new Float64Array(n + 1);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const e = entries[i];
    assertEntry(e, i);
    const h = paxLength(e) + BLOCK;
    headerLengths[i] = h;
    offsets[i] = offset;
    offset += h + e.size + tarPadding(e.size);
  }
  offsets[n] = offset;
  const totalSize = offset + END;
  if (!Number.isSafeInteger(totalSize)) throw new RangeError('archive too large');
  return { kind: 'tar', entries, count: n, headerLengths, offsets, totalSize };
};

const writeOctal = (b: Buffer, at: number, width: number, value: number): void => {
  b.write(value.toString(8).padStart(width - 1, '0'), at, width - 1, 'ascii');
  b[at + width - 1] = 0;
};

/** Not ASCII or too long for ustar: readers use the pax path; keep a readable ASCII approximation for the rest. */
const fallbackName = (name: string): [string, string] => {
  const ascii = name.replace(/[^\u0020-\u007e]/g, '_');
  return splitUstarName(ascii) ?? ['', ascii.slice(ascii.lastIndexOf('/') + 1).slice(-100)];
};

const ustarHeader = (
  b: Buffer,
  at: number,
  path: [string, string],
  size: number,
  mode: number,
  mtime: number,
  type: string,
): void => {
  b.fill(0, at, at + BLOCK);
  b.write(path[1], at, 100, 'utf8');
  writeOctal(b, at + 100, 8, mode & 0o7777);
  writeOctal(b, at + 108, 8, 0);
  writeOctal(b, at + 116, 8, 0);
  if (size > MAX_OCTAL_SIZE) {
    // GNU base-256: high bit of the first byte set, big-endian value in the 12-byte field.
    b[at + 124] = 0x80;
    let v = BigInt(size);
    for (let k = 11; k >= 1; k--) {
      b[at + 124 + k] = Number(v & 0xffn);
      v >>= 8n;
    }
  } else writeOctal(b, at + 124, 12, size);
  writeOctal(b, at + 136, 12, mtime);
  b.write(type, at + 156, 1, 'ascii');
  b.write('ustar\u000000', at + 257, 8, 'ascii');
  writeOctal(b, at + 329, 8, 0);
  writeOctal(b, at + 337, 8, 0);
  b.write(path[0], at + 345, 155, 'utf8');
  b.fill(0x20, at + 148, at + 156); // checksum is computed over spaces
  let sum = 0;
  for (let k = at; k < at + BLOCK; k++) sum += b[k];
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, at + 148, 8, 'ascii');
};

/** pax header (if any) + ustar header of entry i, exactly layout.headerLengths[i] bytes. */
export const tarHeader = (layout: TarLayout, i: number): Buffer => {
  const e = layout.entries[i];
  const b = Buffer.allocUnsafe(layout.headerLengths[i]);
  const mode = e.mode ?? DEFAULT_MODE;
  let at = 0;
  const split = splitUstarName(e.name);
  if (b.length > BLOCK) {
    const records = paxRecords(e)
      .map(([k, v]) => `${recordLength(k, v)} ${k}=${v}\n`)
      .join('');
    const p = Buffer.byteLength(records);
    ustarHeader(b, 0, ['', PAX_NAME], p, 0o644, e.mtime, 'x');
    b.fill(0, BLOCK, b.length - BLOCK);
    b.write(records, BLOCK, p, 'utf8');
    at = b.length - BLOCK;
  }
  ustarHeader(b, at, split ?? fallbackName(e.name), e.size, mode, e.mtime, '0');
  return b;
};
