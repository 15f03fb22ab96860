import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';

export interface ReadEntry {
  name: string;
  size: number;
  crc32: number;
  /** CRC-32 computed over the bytes yauzl extracted (yauzl itself doesn't check CRCs). */
  actualCrc: number;
  data?: Buffer;
  versionNeeded: number;
  externalAttributes: number;
  /** From the 0x5455 extra. */
  lastMod: Date;
  /** From the DOS fields, read as UTC. */
  dosDate: Date;
}

const readAll = (zip: yauzl.ZipFile, keepData: (name: string) => boolean): Promise<ReadEntry[]> =>
  new Promise((resolve, reject) => {
    const out: ReadEntry[] = [];
    zip.on('error', reject);
    zip.on('end', () => resolve(out));
    zip.on('entry', (e: yauzl.Entry) => {
      zip.openReadStream(e, (err, s) => {
        if (err || !s) return reject(err);
        let c = 0;
        const parts: Buffer[] = [];
        const keep = keepData(e.fileName);
        s.on('data', (b: Buffer) => {
          c = crc32(b, c);
          if (keep) parts.push(b);
        });
        s.on('error', reject);
        s.on('end', () => {
          out.push({
            name: e.fileName,
            size: e.uncompressedSize,
            crc32: e.crc32,
            actualCrc: c,
            ...(keep ? { data: Buffer.concat(parts) } : {}),
            versionNeeded: e.versionNeededToExtract,
            externalAttributes: e.externalFileAttributes,
            lastMod: e.getLastModDate(),
            dosDate: e.getLastModDate({ timezone: 'UTC', forceDosFormat: true }),
          });
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });

const options = { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true };

export const yauzlFromBuffer = (buf: Buffer, keepData: (name: string) => boolean = () => true): Promise<ReadEntry[]> =>
  new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, options, (err, zip) => {
      if (err || !zip) return reject(err);
      readAll(zip, keepData).then(resolve, reject);
    });
  });

/** yauzl reading through a ranged source: every read it makes is served by our range streamer. */
export const yauzlFromRanges = (
  totalSize: number,
  range: (start: number, endInclusive: number) => Readable,
  keepData: (name: string) => boolean,
): Promise<ReadEntry[]> => {
  class RangeReader extends yauzl.RandomAccessReader {
    override _readStreamForRange(start: number, end: number): Readable {
      return start === end ? Readable.from([]) : range(start, end - 1);
    }
  }
  const reader = new RangeReader();
  return new Promise((resolve, reject) => {
    yauzl.fromRandomAccessReader(reader, totalSize, options, (err, zip) => {
      if (err || !zip) return reject(err);
      readAll(zip, keepData).then(resolve, reject);
    });
  });
};
