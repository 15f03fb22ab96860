import type { ArchiveEntry } from './entry.js';
import { computeZipLayout, requiresZip64 } from './zip-layout.js';

/** Packer limits of R-FILE-5. zip_2gb stays below 2^31 for readers with signed 32-bit offsets. */
export const ZIP_10MB_LIMIT = 10 * 1024 * 1024;
export const ZIP_2GB_LIMIT = 2 * 1024 * 1024 * 1024 - 1;

const MAX_PART_ENTRIES = 65_534; // 65,535 is the EOCD sentinel and would need ZIP64
const SIGNED_LIMIT = 2 ** 31 - 1;
const EOCD = 22;
const UT_EXTRA = 9;

export interface ZipPart {
  /** 1-based part number (`<name>.<number>.zip`). */
  readonly number: number;
  /** Indexes into the planned entries, in order. */
  readonly entries: readonly number[];
  /** Exact archive size, equal to computeZipLayout(those entries, {zip64: zip64 ? 'always' : 'never'}).totalSize. */
  readonly size: number;
  /** Only a single file that can't be ZIP32 (≥ 4 GiB − 1, or its end offsets overflow) gets a ZIP64 part. */
  readonly zip64: boolean;
}

/**
 * Greedy split in the given (`_files`) order into standalone ZIP32 archives, each ≤ min(limit, 2^31 − 1) bytes and
 * ≤ 65,534 entries, except that a file too big for any part gets a part of its own. No entries → no parts.
 * Sizes come from the same layout code that writes the bytes, so a plan can never disagree with its archives.
 */
export const planZipParts = (entries: readonly ArchiveEntry[], limitBytes: number): ZipPart[] => {
  if (!Number.isSafeInteger(limitBytes) || limitBytes <= EOCD) throw new RangeError(`bad part limit ${limitBytes}`);
  const limit = Math.min(limitBytes, SIGNED_LIMIT);
  const groups: number[][] = [];
  let current: number[] = [];
  let size = EOCD;
  for (let i = 0; i < entries.length; i++) {
    const n = Buffer.byteLength(entries[i].name, 'utf8');
    // Local header + central header of a ZIP32 entry with the extended-timestamp extra in both.
    const cost = 76 + 2 * n + 2 * UT_EXTRA + entries[i].size;
    if (current.length > 0 && (size + cost > limit || current.length >= MAX_PART_ENTRIES)) {
      groups.push(current);
      current = [];
      size = EOCD;
    }
    current.push(i);
    size += cost;
    if (size > limit) {
      // Alone and still too big: its own part; the next file starts a fresh one.
      groups.push(current);
      current = [];
      size = EOCD;
    }
  }
  if (current.length > 0) groups.push(current);

  return groups.map((indexes, k) => {
    const partEntries = indexes.map((i) => entries[i]);
    const zip64 = indexes.length === 1 && requiresZip64(partEntries);
    const layout = computeZipLayout(partEntries, { zip64: zip64 ? 'always' : 'never' });
    return { number: k + 1, entries: indexes, size: layout.totalSize, zip64 };
  });
};
