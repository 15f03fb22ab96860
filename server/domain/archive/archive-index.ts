/** What archives need of each published file. */
export interface ArchiveFile {
  path: string;
  size: number;
  crc32: number;
  mtime: number;
}

/**
 * Compact binary form of a run's archive columns, written once at publish (`runs.archive_index`) so the first zip/
 * of a big export reads one value instead of aggregating and parsing 100,000 rows (time to first byte, R-PERF-2).
 *
 * Layout: "EMX1", u32 count, then per file in `_files` order: u32 size high, u32 size low, u32 crc32, u32 mtime,
 * u32 path byte length, UTF-8 path. Little-endian. Decoding gives exactly the list the run_files rows give.
 */
const MAGIC = 0x31584d45; // "EMX1" read as a little-endian u32
const HEAD = 8;
const FIXED = 20;

const isU32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/**
 * The index of `files`, or null when a value does not fit the format (a size past 2^53, a negative mtime): such a run
 * simply has no index and readers use run_files.
 */
export function encodeArchiveIndex(files: readonly ArchiveFile[]): Buffer | null {
  let bytes = HEAD;
  const lengths = new Array<number>(files.length);
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    if (!Number.isSafeInteger(f.size) || f.size < 0 || !isU32(f.crc32) || !isU32(f.mtime)) return null;
    lengths[i] = Buffer.byteLength(f.path, 'utf8');
    bytes += FIXED + lengths[i];
  }
  const buf = Buffer.allocUnsafe(bytes);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(files.length, 4);
  let o = HEAD;
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    buf.writeUInt32LE(Math.floor(f.size / 0x100000000), o);
    buf.writeUInt32LE(f.size % 0x100000000, o + 4);
    buf.writeUInt32LE(f.crc32, o + 8);
    buf.writeUInt32LE(f.mtime, o + 12);
    buf.writeUInt32LE(lengths[i], o + 16);
    o += FIXED;
    o += buf.write(f.path, o, 'utf8');
  }
  return buf;
}

/** The files of an index, or null when it is not one this code wrote (then the caller reads run_files). */
export function decodeArchiveIndex(buf: Buffer): ArchiveFile[] | null {
  if (buf.length < HEAD || buf.readUInt32LE(0) !== MAGIC) return null;
  const n = buf.readUInt32LE(4);
  if (n > (buf.length - HEAD) / FIXED) return null;
  const files: ArchiveFile[] = new Array(n);
  // One latin1 string of the whole index: an ASCII path is then a cheap substring of it; 100,000 separate UTF-8
  // decodes cost several times more. Paths with other bytes are decoded as UTF-8.
  const text = buf.toString('latin1');
  let o = HEAD;
  for (let i = 0; i < n; i++) {
    if (o + FIXED > buf.length) return null;
    const size = buf.readUInt32LE(o) * 0x100000000 + buf.readUInt32LE(o + 4);
    const crc32 = buf.readUInt32LE(o + 8);
    const mtime = buf.readUInt32LE(o + 12);
    const len = buf.readUInt32LE(o + 16);
    o += FIXED;
    if (o + len > buf.length) return null;
    let ascii = true;
    for (let j = o; j < o + len; j++) {
      if (buf[j] > 0x7f) {
        ascii = false;
        break;
      }
    }
    files[i] = { path: ascii ? text.slice(o, o + len) : buf.toString('utf8', o, o + len), size, crc32, mtime };
    o += len;
  }
  return o === buf.length ? files : null;
}
