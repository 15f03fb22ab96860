import { expect } from 'chai';
import fc from 'fast-check';
import { decodeArchiveIndex, encodeArchiveIndex } from '../../../server/domain/archive/archive-index.js';
import type { ArchiveFile } from '../../../server/domain/archive/archive-index.js';

const file = (path: string, i = 0): ArchiveFile => ({ path, size: 1000 + i, crc32: (i * 2654435761) >>> 0, mtime: 1_790_000_000 + i });
const roundTrip = (files: ArchiveFile[]) => decodeArchiveIndex(encodeArchiveIndex(files) as Buffer);

describe('domain/files archive-index (R-PERF-2)', () => {
  it('round-trips an empty list', () => {
    expect(roundTrip([])).to.deep.equal([]);
  });

  it('round-trips non-ASCII names, newlines, commas and the extreme values', () => {
    const files = [
      file('Ärger/naïve café.txt', 1),
      file('日本語/ファイル.csv', 2),
      file('emoji/😀.bin', 3),
      file('line\nbreak/a,b\r\n.txt', 4),
      { path: 'big.bin', size: Number.MAX_SAFE_INTEGER, crc32: 0xffffffff, mtime: 0xffffffff },
      { path: 'zero', size: 0, crc32: 0, mtime: 0 },
      file('', 5),
    ];
    expect(roundTrip(files)).to.deep.equal(files);
  });

  it('round-trips any list (property)', () => {
    const arb = fc.array(
      fc.record({
        path: fc.string({ unit: 'grapheme', maxLength: 40 }),
        size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        crc32: fc.nat({ max: 0xffffffff }),
        mtime: fc.nat({ max: 0xffffffff }),
      }),
      { maxLength: 50 },
    );
    fc.assert(
      fc.property(arb, (files) => {
        expect(roundTrip(files)).to.deep.equal(files);
      }),
    );
  });

  it('no index for values the format cannot hold (readers then use run_files)', () => {
    expect(encodeArchiveIndex([{ ...file('a'), mtime: -1 }])).to.equal(null);
    expect(encodeArchiveIndex([{ ...file('a'), mtime: 2 ** 32 }])).to.equal(null);
    expect(encodeArchiveIndex([{ ...file('a'), size: 2 ** 53 }])).to.equal(null);
    expect(encodeArchiveIndex([{ ...file('a'), crc32: 1.5 }])).to.equal(null);
  });

  it('rejects what it did not write: wrong magic, truncated, trailing bytes', () => {
    const buf = encodeArchiveIndex([file('a/b.txt'), file('c.txt', 1)]) as Buffer;
    expect(decodeArchiveIndex(Buffer.alloc(0))).to.equal(null);
    expect(decodeArchiveIndex(Buffer.concat([Buffer.from('XXXX'), buf.subarray(4)]))).to.equal(null);
    expect(decodeArchiveIndex(buf.subarray(0, buf.length - 1))).to.equal(null);
    expect(decodeArchiveIndex(Buffer.concat([buf, Buffer.alloc(1)]))).to.equal(null);
  });

  // Speed belongs to `npm run bench -- files` (cold TTFB of the 100,000-file zip), not to a timed unit test.
  it('100,000 entries round-trip', () => {
    const files = Array.from({ length: 100_000 }, (_, i) => file(`d${i % 500}/f${i}.txt`, i));
    const decoded = decodeArchiveIndex(encodeArchiveIndex(files) as Buffer);
    // Compared as JSON: chai's deep equality of 100,000 objects alone takes seconds.
    expect(decoded).to.have.length(100_000);
    expect(JSON.stringify(decoded) === JSON.stringify(files)).to.equal(true);
  });
});
