import { expect } from 'chai';
import fc from 'fast-check';
import type { ArchiveEntry } from '../../../server/domain/archive/entry.js';
import {
  CENTRAL_ZIP64,
  centralHeader,
  computeZipLayout,
  dosDateTime,
  endRecords,
  entryZip64,
  LOCAL_ZIP64,
  localHeader,
  requiresZip64,
  Zip64RequiredError,
} from '../../../server/domain/archive/zip-layout.js';
import { entryName } from '../../helpers/archive/arbitraries.js';

const M = 0xffffffff;
const e = (name: string, size: number, mtime = 1_700_000_000): ArchiveEntry => ({ name, size, crc32: 0, mtime });

/** The exact ZIP size formula of our layout (zip-layout.ts), written independently of the implementation. */
const predicted = (entries: ArchiveEntry[], always: boolean): number => {
  let o = 0;
  let c = 0;
  for (const x of entries) {
    const n = Buffer.byteLength(x.name);
    const z = x.size >= M ? 1 : 0;
    const q = x.size >= M || o >= M ? 1 : 0;
    c += 46 + n + 9 + 28 * q;
    o += 30 + n + 9 + 20 * z + x.size;
  }
  const Z = always ? (entries.length > 0 ? 1 : 0) : entries.length >= 65535 || o >= M || c >= M ? 1 : 0;
  return o + c + 76 * Z + 22;
};

describe('domain/archive zip layout', () => {
  it('R-FILE-3 totalSize equals the size formula for random lists, incl. sizes around 4 GiB', () => {
    const size = fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: M - 3, max: M + 3 }), fc.maxSafeNat());
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: entryName(), size: size.map((s) => Math.min(s, 2 ** 45)) }), { maxLength: 20 }),
        (list) => {
          const entries = list.map((x) => e(x.name, x.size));
          expect(computeZipLayout(entries, { zip64: 'always' }).totalSize).to.equal(predicted(entries, true));
          if (!requiresZip64(entries)) {
            expect(computeZipLayout(entries, { zip64: 'never' }).totalSize).to.equal(predicted(entries, false));
          }
        },
      ),
    );
  });

  it('R-FILE-4 ZIP64 thresholds: size M−1 is plain, size M gets local (20) and central (28) extras', () => {
    expect(entryZip64(M - 1, 0)).to.equal(0);
    expect(entryZip64(M, 0)).to.equal(LOCAL_ZIP64 | CENTRAL_ZIP64);
    expect(entryZip64(0, M - 1)).to.equal(0);
    expect(entryZip64(0, M)).to.equal(CENTRAL_ZIP64);

    const layout = computeZipLayout([e('big', M), e('next', 1)], { zip64: 'always' });
    const lh = localHeader(layout, 0);
    expect(lh.readUInt16LE(4)).to.equal(45);
    expect(lh.readUInt32LE(18)).to.equal(M);
    expect(lh.readUInt16LE(28)).to.equal(9 + 20);
    expect(lh.readUInt16LE(30 + 3)).to.equal(0x0001);
    expect(Number(lh.readBigUInt64LE(30 + 3 + 4))).to.equal(M);
    // The second entry is small but lies beyond 4 GiB: central extra with all three fields, local header plain.
    const lh2 = localHeader(layout, 1);
    expect(lh2.readUInt16LE(4)).to.equal(45); // version needed 4.5 in both headers of an entry that uses ZIP64
    expect(lh2.readUInt32LE(18)).to.equal(1);
    const ch2 = centralHeader(layout, 1);
    expect(ch2.readUInt16LE(6)).to.equal(45);
    expect([ch2.readUInt32LE(20), ch2.readUInt32LE(24), ch2.readUInt32LE(42)]).to.deep.equal([M, M, M]);
    expect(ch2.readUInt16LE(30)).to.equal(28 + 9);
    const x = 46 + 4;
    expect([ch2.readUInt16LE(x), ch2.readUInt16LE(x + 2)]).to.deep.equal([1, 24]);
    expect(Number(ch2.readBigUInt64LE(x + 4))).to.equal(1);
    expect(Number(ch2.readBigUInt64LE(x + 12))).to.equal(1);
    expect(Number(ch2.readBigUInt64LE(x + 20))).to.equal(layout.localOffsets[1]);
  });

  it('R-FILE-4 an entry whose local header starts exactly at 0xFFFFFFFF needs the central ZIP64 extra, at M−1 not', () => {
    const first = (offsetOfSecond: number) => offsetOfSecond - (30 + 1 + 9);
    const at = (o: number) => computeZipLayout([e('a', first(o)), e('b', 0)], { zip64: 'always' });
    expect(at(M - 1).zip64Flags[1]).to.equal(0);
    expect(at(M).zip64Flags[1]).to.equal(CENTRAL_ZIP64);
    expect(() => computeZipLayout([e('a', first(M)), e('b', 0)], { zip64: 'never' })).to.throw(Zip64RequiredError);
  });

  it('R-FILE-5 zip64 never throws whenever anything needs ZIP64 (size, offset, count, central directory)', () => {
    expect(() => computeZipLayout([e('a', M)], { zip64: 'never' })).to.throw(Zip64RequiredError);
    // A file just under M still pushes the central directory offset past M.
    expect(() => computeZipLayout([e('a', M - 10)], { zip64: 'never' })).to.throw(Zip64RequiredError);
    const many = Array.from({ length: 65535 }, (_, i) => e(`f${i}`, 0));
    expect(() => computeZipLayout(many, { zip64: 'never' })).to.throw(Zip64RequiredError);
    expect(computeZipLayout(many.slice(1), { zip64: 'never' }).zip64End).to.equal(false);
  });

  it('R-FILE-2 end records: ZIP64 EOCD (size field 44) + locator + EOCD with real values when they fit', () => {
    const layout = computeZipLayout([e('a', 5)], { zip64: 'always' });
    const end = endRecords(layout);
    expect(end.length).to.equal(56 + 20 + 22);
    expect(end.readUInt32LE(0)).to.equal(0x06064b50);
    expect(Number(end.readBigUInt64LE(4))).to.equal(44);
    expect(Number(end.readBigUInt64LE(32))).to.equal(1);
    expect(Number(end.readBigUInt64LE(48))).to.equal(layout.centralDirOffset);
    expect(end.readUInt32LE(56)).to.equal(0x07064b50);
    expect(Number(end.readBigUInt64LE(64))).to.equal(layout.centralDirOffset + layout.centralDirSize);
    expect(end.readUInt32LE(76)).to.equal(0x06054b50);
    expect(end.readUInt16LE(76 + 10)).to.equal(1);
    expect(end.readUInt32LE(76 + 12)).to.equal(layout.centralDirSize);
    expect(end.readUInt32LE(76 + 16)).to.equal(layout.centralDirOffset);
    expect(endRecords(computeZipLayout([e('a', 5)], { zip64: 'never' })).length).to.equal(22);
  });

  it('R-FILE-3 DOS date/time is computed in UTC, 2-second resolution, clamped to 1980', () => {
    const t = Date.UTC(2024, 1, 29, 13, 45, 17) / 1000;
    const { date, time } = dosDateTime(t);
    expect([(date >> 9) + 1980, (date >> 5) & 15, date & 31]).to.deep.equal([2024, 2, 29]);
    expect([time >> 11, (time >> 5) & 63, (time & 31) * 2]).to.deep.equal([13, 45, 16]);
    expect(dosDateTime(0)).to.deep.equal({ date: 0x21, time: 0 });
  });

  it('R-FILE-3 header flags: UTF-8 bit, STORE, UNIX made-by, mode in external attributes, 0x5455 extra', () => {
    const layout = computeZipLayout([{ name: 'ä/b', size: 3, crc32: 0x12345678, mtime: 1000, mode: 0o100755 }], {
      zip64: 'always',
    });
    const lh = localHeader(layout, 0);
    const ch = centralHeader(layout, 0);
    expect(lh.readUInt16LE(6)).to.equal(0x800);
    expect(lh.readUInt16LE(8)).to.equal(0);
    expect(lh.readUInt32LE(14)).to.equal(0x12345678);
    expect(lh.subarray(30, 34).toString()).to.equal('ä/b');
    expect(lh.readUInt16LE(34)).to.equal(0x5455);
    expect(lh.readUInt32LE(39)).to.equal(1000);
    expect(ch.readUInt16LE(4) >> 8).to.equal(3);
    expect(ch.readUInt32LE(38) >>> 16).to.equal(0o100755);
    expect(ch.readUInt16LE(46 + 4)).to.equal(0x5455);
  });

  it('R-FILE-3 rejects entries that could escape on extraction or are malformed', () => {
    for (const name of ['', '/abs', 'a/../b', '..', './a', 'a//b', 'a\\b', 'dir/', 'a\u0000b', 'a\nb']) {
      expect(() => computeZipLayout([e(name, 0)], { zip64: 'always' }), name).to.throw(RangeError);
    }
    expect(() => computeZipLayout([e('a', -1)], { zip64: 'always' })).to.throw(RangeError);
    expect(() => computeZipLayout([e('a', 1.5)], { zip64: 'always' })).to.throw(RangeError);
    expect(() => computeZipLayout([{ ...e('a', 0), crc32: -1 }], { zip64: 'always' })).to.throw(RangeError);
    expect(() => computeZipLayout([{ ...e('a', 0), mtime: 2 ** 31 }], { zip64: 'always' })).to.throw(RangeError);
  });

  // Its speed (the 200 ms time-to-first-byte budget) is measured by `npm run bench -- files`, not timed here.
  it('R-FILE-3 lays out 100,000 entries', () => {
    const entries = Array.from({ length: 100_000 }, (_, i) => e(`Ordner ${i % 97}/Datei-${i}-äöü.jpg`, i * 37));
    const layout = computeZipLayout(entries, { zip64: 'always' });
    expect(layout.count).to.equal(100_000);
  });
});
