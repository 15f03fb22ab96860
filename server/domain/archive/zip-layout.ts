import { type ArchiveEntry, assertEntry, DEFAULT_MODE } from './entry.js';

/**
 * Our ZIP layout: STORE, CRC and sizes in the local header, no data descriptors,
 * an extended-timestamp extra everywhere, ZIP64 extras by the rules below. Computing a layout allocates no
 * per-entry Buffers (time-to-first-byte); header bytes are produced on demand while streaming.
 */

/** Bumped whenever any byte the writer produces changes for the same input (feeds the ETag). */
export const ZIP_LAYOUT_VERSION = 1;

const M = 0xffffffff;
const UT_EXTRA = 9; // 0x5455: tag 2, size 2, flags 1, mtime 4
const LOCAL_ZIP64_EXTRA = 20; // tag 2, size 2, uncompressed 8, compressed 8
const CENTRAL_ZIP64_EXTRA = 28; // + local header offset 8
const ZIP64_END = 56 + 20; // ZIP64 EOCD record + locator
const EOCD = 22;
const VERSION_ZIP64 = 45;
const VERSION_PLAIN = 20;
const MADE_BY = (3 << 8) | VERSION_ZIP64; // UNIX, spec 4.5
const FLAG_UTF8 = 1 << 11;

export const LOCAL_ZIP64 = 1;
export const CENTRAL_ZIP64 = 2;

/**
 * THE decision whether an entry needs ZIP64, shared by size prediction and writer so they can never disagree.
 * Bit LOCAL_ZIP64: sizes don't fit (local + central extra); bit CENTRAL_ZIP64: sizes or local offset don't fit.
 */
export const entryZip64 = (size: number, localOffset: number): number =>
  (size >= M ? LOCAL_ZIP64 | CENTRAL_ZIP64 : 0) | (localOffset >= M ? CENTRAL_ZIP64 : 0);

/** Whether the end of the archive needs the ZIP64 EOCD record + locator (ZIP32 must answer false). */
const endNeedsZip64 = (count: number, centralDirOffset: number, centralDirSize: number): boolean =>
  count >= 0xffff || centralDirOffset >= M || centralDirSize >= M;

export interface ZipLayoutOptions {
  /** 'always' = R-FILE-2 ZIP64 archive (ZIP64 end records always); 'never' = ZIP32 part, throws if ZIP64 is needed. */
  zip64: 'always' | 'never';
}

export class Zip64RequiredError extends RangeError {
  constructor(what: string) {
    super(`ZIP32 archive impossible: ${what} needs ZIP64`);
    this.name = 'Zip64RequiredError';
  }
}

export interface ZipLayout {
  readonly kind: 'zip';
  readonly zip64: 'always' | 'never';
  readonly entries: readonly ArchiveEntry[];
  readonly count: number;
  /** UTF-8 byte length of each name. */
  readonly nameLengths: Uint32Array;
  /** entryZip64() of each entry. */
  readonly zip64Flags: Uint8Array;
  /** Local header offset of each entry; [count] = central directory offset. */
  readonly localOffsets: Float64Array;
  /** Absolute offset of each central header; [count] = end of the central directory. */
  readonly centralOffsets: Float64Array;
  readonly centralDirOffset: number;
  readonly centralDirSize: number;
  /** ZIP64 EOCD record + locator present: always for zip64 'always', except in an archive without entries. */
  readonly zip64End: boolean;
  readonly totalSize: number;
}

export const localHeaderLength = (layout: ZipLayout, i: number): number =>
  30 + layout.nameLengths[i] + UT_EXTRA + (layout.zip64Flags[i] & LOCAL_ZIP64 ? LOCAL_ZIP64_EXTRA : 0);

const centralHeaderLength = (nameLength: number, flags: number): number =>
  46 + nameLength + UT_EXTRA + (flags & CENTRAL_ZIP64 ? CENTRAL_ZIP64_EXTRA : 0);

/** Offset of the first data byte of entry i. */
export const dataOffset = (layout: ZipLayout, i: number): number =>
  layout.localOffsets[i] + localHeaderLength(layout, i);

export const computeZipLayout = (entries: readonly ArchiveEntry[], options: ZipLayoutOptions): ZipLayout => {
  const n = entries.length;
  const nameLengths = new Uint32Array(n);
  const zip64Flags = new Uint8Array(n);
  const localOffsets = new Float64Array(n + 1);
  const centralOffsets = new Float64Array(n + 1);
  const never = options.zip64 === 'never';
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const e = entries[i];
    assertEntry(e, i);
    const nameLength = Buffer.byteLength(e.name, 'utf8');
    if (nameLength > 0xffff) throw new RangeError(`archive entry ${i}: name longer than 65535 bytes`);
    const flags = entryZip64(e.size, offset);
    if (never && flags) throw new Zip64RequiredError(`entry ${i} (${e.name})`);
    nameLengths[i] = nameLength;
    zip64Flags[i] = flags;
    localOffsets[i] = offset;
    offset += 30 + nameLength + UT_EXTRA + (flags & LOCAL_ZIP64 ? LOCAL_ZIP64_EXTRA : 0) + e.size;
  }
  const centralDirOffset = offset;
  localOffsets[n] = offset;
  for (let i = 0; i < n; i++) {
    centralOffsets[i] = offset;
    offset += centralHeaderLength(nameLengths[i], zip64Flags[i]);
  }
  centralOffsets[n] = offset;
  const centralDirSize = offset - centralDirOffset;
  const needsEnd = endNeedsZip64(n, centralDirOffset, centralDirSize);
  if (never && needsEnd) throw new Zip64RequiredError(`${n} entries / central directory`);
  // 7-Zip doesn't recognise a file that starts with the ZIP64 end record, so an archive without entries is plain.
  const zip64End = !never && (n > 0 || needsEnd);
  const totalSize = offset + (zip64End ? ZIP64_END : 0) + EOCD;
  if (!Number.isSafeInteger(totalSize)) throw new RangeError('archive too large');
  return {
    kind: 'zip',
    zip64: options.zip64,
    entries,
    count: n,
    nameLengths,
    zip64Flags,
    localOffsets,
    centralOffsets,
    centralDirOffset,
    centralDirSize,
    zip64End,
    totalSize,
  };
};

/** Whether these entries, as one archive, can only be written with ZIP64 (same decision as the writer). */
export const requiresZip64 = (entries: readonly ArchiveEntry[]): boolean => {
  try {
    computeZipLayout(entries, { zip64: 'never' });
    return false;
  } catch (e) {
    if (e instanceof Zip64RequiredError) return true;
    throw e;
  }
};

/** MS-DOS date and time in UTC (never the process TZ, R-FILE-3), clamped to the representable 1980..2107. */
export const dosDateTime = (mtime: number): { date: number; time: number } => {
  const d = new Date(mtime * 1000);
  const year = d.getUTCFullYear();
  if (year < 1980) return { date: (1 << 5) | 1, time: 0 };
  if (year > 2107) return { date: (127 << 9) | (12 << 5) | 31, time: (23 << 11) | (59 << 5) | 29 };
  return {
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
};

const writeUt = (b: Buffer, at: number, mtime: number): number => {
  b.writeUInt16LE(0x5455, at);
  b.writeUInt16LE(5, at + 2);
  b.writeUInt8(1, at + 4); // only mtime present
  b.writeUInt32LE(mtime, at + 5);
  return at + UT_EXTRA;
};

export const localHeader = (layout: ZipLayout, i: number): Buffer => {
  const e = layout.entries[i];
  const flags = layout.zip64Flags[i];
  const z = (flags & LOCAL_ZIP64) !== 0;
  const nameLength = layout.nameLengths[i];
  const b = Buffer.allocUnsafe(localHeaderLength(layout, i));
  const { date, time } = dosDateTime(e.mtime);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(flags ? VERSION_ZIP64 : VERSION_PLAIN, 4);
  b.writeUInt16LE(FLAG_UTF8, 6);
  b.writeUInt16LE(0, 8); // STORE
  b.writeUInt16LE(time, 10);
  b.writeUInt16LE(date, 12);
  b.writeUInt32LE(e.crc32, 14);
  b.writeUInt32LE(z ? M : e.size, 18);
  b.writeUInt32LE(z ? M : e.size, 22);
  b.writeUInt16LE(nameLength, 26);
  b.writeUInt16LE(UT_EXTRA + (z ? LOCAL_ZIP64_EXTRA : 0), 28);
  b.write(e.name, 30, nameLength, 'utf8');
  let at = 30 + nameLength;
  if (z) {
    b.writeUInt16LE(0x0001, at);
    b.writeUInt16LE(16, at + 2);
    b.writeBigUInt64LE(BigInt(e.size), at + 4);
    b.writeBigUInt64LE(BigInt(e.size), at + 12);
    at += LOCAL_ZIP64_EXTRA;
  }
  writeUt(b, at, e.mtime);
  return b;
};

export const centralHeader = (layout: ZipLayout, i: number): Buffer => {
  const e = layout.entries[i];
  const flags = layout.zip64Flags[i];
  const q = (flags & CENTRAL_ZIP64) !== 0;
  const nameLength = layout.nameLengths[i];
  const b = Buffer.allocUnsafe(centralHeaderLength(nameLength, flags));
  const { date, time } = dosDateTime(e.mtime);
  const offset = layout.localOffsets[i];
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE(MADE_BY, 4);
  b.writeUInt16LE(flags ? VERSION_ZIP64 : VERSION_PLAIN, 6);
  b.writeUInt16LE(FLAG_UTF8, 8);
  b.writeUInt16LE(0, 10);
  b.writeUInt16LE(time, 12);
  b.writeUInt16LE(date, 14);
  b.writeUInt32LE(e.crc32, 16);
  // All three fields go to the extra as soon as one needs it: Debian unzip misreads the next entry otherwise.
  b.writeUInt32LE(q ? M : e.size, 20);
  b.writeUInt32LE(q ? M : e.size, 24);
  b.writeUInt16LE(nameLength, 28);
  b.writeUInt16LE(UT_EXTRA + (q ? CENTRAL_ZIP64_EXTRA : 0), 30);
  b.writeUInt16LE(0, 32); // comment length
  b.writeUInt16LE(0, 34); // disk
  b.writeUInt16LE(0, 36); // internal attributes
  b.writeUInt32LE(((e.mode ?? DEFAULT_MODE) << 16) >>> 0, 38);
  b.writeUInt32LE(q ? M : offset, 42);
  b.write(e.name, 46, nameLength, 'utf8');
  let at = 46 + nameLength;
  if (q) {
    b.writeUInt16LE(0x0001, at);
    b.writeUInt16LE(24, at + 2);
    b.writeBigUInt64LE(BigInt(e.size), at + 4);
    b.writeBigUInt64LE(BigInt(e.size), at + 12);
    b.writeBigUInt64LE(BigInt(offset), at + 20);
    at += CENTRAL_ZIP64_EXTRA;
  }
  writeUt(b, at, e.mtime);
  return b;
};

/** ZIP64 EOCD record + locator (when present) and the classic EOCD, i.e. everything after the central directory. */
export const endRecords = (layout: ZipLayout): Buffer => {
  const { count, centralDirOffset: cdOffset, centralDirSize: cdSize } = layout;
  const b = Buffer.alloc((layout.zip64End ? ZIP64_END : 0) + EOCD);
  let at = 0;
  if (layout.zip64End) {
    const recordOffset = cdOffset + cdSize;
    b.writeUInt32LE(0x06064b50, 0);
    b.writeBigUInt64LE(44n, 4); // size of the remaining record, not 56: 7-Zip rejects 56
    b.writeUInt16LE(MADE_BY, 12);
    b.writeUInt16LE(VERSION_ZIP64, 14);
    b.writeUInt32LE(0, 16);
    b.writeUInt32LE(0, 20);
    b.writeBigUInt64LE(BigInt(count), 24);
    b.writeBigUInt64LE(BigInt(count), 32);
    b.writeBigUInt64LE(BigInt(cdSize), 40);
    b.writeBigUInt64LE(BigInt(cdOffset), 48);
    b.writeUInt32LE(0x07064b50, 56);
    b.writeUInt32LE(0, 60);
    b.writeBigUInt64LE(BigInt(recordOffset), 64);
    b.writeUInt32LE(1, 72);
    at = ZIP64_END;
  }
  // Real values whenever they fit; sentinels only when they don't (then the ZIP64 record carries them).
  b.writeUInt32LE(0x06054b50, at);
  b.writeUInt16LE(Math.min(count, 0xffff), at + 8);
  b.writeUInt16LE(Math.min(count, 0xffff), at + 10);
  b.writeUInt32LE(Math.min(cdSize, M), at + 12);
  b.writeUInt32LE(Math.min(cdOffset, M), at + 16);
  return b;
};
