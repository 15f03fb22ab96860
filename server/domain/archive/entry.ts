import type { Readable } from 'node:stream';

/**
 * What an archive entry is made of. Everything that shapes the bytes of a ZIP or TAR is in here, so the same
 * list always gives the same archive (R-FILE-3).
 */
export interface ArchiveEntry {
  /** Relative, `/`-separated UTF-8 path inside the archive (no leading `/`, no `.`/`..`/empty segments). */
  readonly name: string;
  /** Exact byte size of the file; the data source must yield exactly this many bytes. */
  readonly size: number;
  /** CRC-32 (IEEE, as zlib.crc32) of the whole file, unsigned. */
  readonly crc32: number;
  /** Modification time, integer unix seconds, 0 ≤ mtime ≤ 2^31 − 1 (readers take the ZIP 0x5455 mtime as signed). */
  readonly mtime: number;
  /** Unix mode incl. file type bits; default 0o100644. */
  readonly mode?: number;
}

/**
 * Supplies the bytes [start, end] (inclusive, relative to the entry's data) of entry `entryIndex`: a stream, or for
 * small slices simply the bytes (cheaper than a stream per file when archives hold many small files).
 * It must yield exactly end − start + 1 bytes; the archive stream fails otherwise. `signal` aborts with the archive.
 */
export type OpenData = (
  entryIndex: number,
  start: number,
  end: number,
  signal: AbortSignal,
) => Promise<Readable | Uint8Array>;

export const DEFAULT_MODE = 0o100644;

/** Entry names reach users' disks on extraction, so anything that could escape the target folder is refused here too. */
export const assertEntry = (e: ArchiveEntry, index: number): void => {
  const where = `archive entry ${index}`;
  const { name } = e;
  if (typeof name !== 'string' || name.length === 0) throw new RangeError(`${where}: empty name`);
  // One pass over the UTF-16 units (this runs for every entry on the time-to-first-byte path).
  let segStart = 0;
  for (let k = 0; k <= name.length; k++) {
    const c = k < name.length ? name.charCodeAt(k) : 0x2f;
    if (c < 0x20 || c === 0x7f || c === 0x5c) throw new RangeError(`${where}: control character or backslash in name`);
    if (c !== 0x2f) continue;
    const len = k - segStart;
    if (
      len === 0 ||
      (len <= 2 && name.charCodeAt(segStart) === 0x2e && (len === 1 || name.charCodeAt(segStart + 1) === 0x2e))
    ) {
      throw new RangeError(`${where}: empty, absolute, '.' or '..' path segment in ${name}`);
    }
    segStart = k + 1;
  }
  if (!Number.isSafeInteger(e.size) || e.size < 0) throw new RangeError(`${where}: bad size ${e.size}`);
  if (!Number.isInteger(e.crc32) || e.crc32 < 0 || e.crc32 > 0xffffffff) throw new RangeError(`${where}: bad crc32`);
  if (!Number.isInteger(e.mtime) || e.mtime < 0 || e.mtime > 0x7fffffff) throw new RangeError(`${where}: bad mtime`);
  if (e.mode !== undefined && (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0xffff)) {
    throw new RangeError(`${where}: bad mode`);
  }
};
