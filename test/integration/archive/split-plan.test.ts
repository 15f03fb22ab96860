import { expect } from 'chai';
import fc from 'fast-check';
import type { ArchiveEntry } from '../../../server/domain/archive/entry.js';
import { planZipParts, ZIP_2GB_LIMIT, ZIP_10MB_LIMIT } from '../../../server/domain/archive/split-plan.js';
import { computeZipLayout } from '../../../server/domain/archive/zip-layout.js';
import { streamZip } from '../../../server/domain/archive/zip-stream.js';
import { entryName } from '../../helpers/archive/arbitraries.js';
import { bytes, collect, entriesOf, memorySource, python, type TestFile, tempDir } from '../../helpers/archive/helpers.js';

const e = (name: string, size: number): ArchiveEntry => ({ name, size, crc32: 0, mtime: 1_700_000_000 });
const cost = (x: ArchiveEntry) => 76 + 2 * Buffer.byteLength(x.name) + 18 + x.size;

/** A ZIP32 part: no ZIP64 end records, EOCD with real values, every entry version 20 without ZIP64 extras. */
const assertZip32 = (zip: Buffer, count: number) => {
  const eocd = zip.length - 22;
  expect(zip.readUInt32LE(eocd)).to.equal(0x06054b50);
  expect(zip.readUInt16LE(eocd + 10)).to.equal(count);
  expect(zip.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).to.equal(-1);
  expect(zip.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]))).to.equal(-1);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).to.equal(0x02014b50);
    expect(zip.readUInt16LE(at + 6)).to.equal(20);
    expect(zip.readUInt32LE(at + 42)).to.not.equal(0xffffffff);
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30);
  }
};

describe('domain/archive split plans (R-FILE-5)', () => {
  it('R-FILE-5 greedy parts in order: each ≤ limit (unless one oversized file), exact sizes, maximal', () => {
    const size = fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 12_000 }));
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: entryName(), size }), { maxLength: 60 }),
        fc.integer({ min: 200, max: 20_000 }),
        (list, limit) => {
          const entries = list.map((x) => e(x.name, x.size));
          const parts = planZipParts(entries, limit);
          expect(parts.flatMap((p) => p.entries)).to.deep.equal(entries.map((_, i) => i));
          parts.forEach((p, k) => {
            expect(p.number).to.equal(k + 1);
            const part = p.entries.map((i) => entries[i]);
            expect(p.size).to.equal(computeZipLayout(part, { zip64: 'never' }).totalSize);
            expect(p.zip64).to.equal(false);
            if (p.entries.length > 1) expect(p.size).to.be.at.most(limit);
            if (p.size > limit) expect(p.entries.length).to.equal(1);
            // Greedy: the next file would not have fitted.
            const next = parts[k + 1];
            if (next && p.size <= limit) expect(p.size + cost(entries[next.entries[0]])).to.be.greaterThan(limit);
          });
        },
      ),
    );
  });

  it('R-FILE-5 a file of 4 GiB − 1 or more (or whose part would overflow ZIP32) gets a ZIP64 part of its own', () => {
    const M = 0xffffffff;
    const entries = [e('a', 10), e('huge', M), e('b', 10), e('almost', M - 10), e('fits', ZIP_2GB_LIMIT - 200)];
    const parts = planZipParts(entries, ZIP_2GB_LIMIT);
    expect(parts.map((p) => [p.entries, p.zip64])).to.deep.equal([
      [[0], false],
      [[1], true],
      [[2], false],
      [[3], true],
      [[4], false],
    ]);
    expect(parts[1].size).to.equal(computeZipLayout([entries[1]], { zip64: 'always' }).totalSize);
    expect(parts[4].size).to.be.at.most(ZIP_2GB_LIMIT);
    expect(ZIP_2GB_LIMIT).to.be.lessThan(2 ** 31);
    expect(ZIP_10MB_LIMIT).to.equal(10 * 1024 * 1024);
  });

  it('R-FILE-5 at most 65,534 entries per ZIP32 part', () => {
    const entries = Array.from({ length: 140_000 }, (_, i) => e(`f${i}`, 0));
    const parts = planZipParts(entries, ZIP_2GB_LIMIT);
    expect(parts.map((p) => p.entries.length)).to.deep.equal([65_534, 65_534, 140_000 - 2 * 65_534]);
    expect(planZipParts([], ZIP_10MB_LIMIT)).to.deep.equal([]);
  });

  it('R-FILE-5 every zip_10mb part streams to its planned size, is pure ZIP32 and opens in Python', async () => {
    const tmp = tempDir();
    try {
      const files: TestFile[] = Array.from({ length: 40 }, (_, i) => ({
        name: `Ordner/Datei ${i} ü.bin`,
        data: bytes([0, 1, 700_000, 3_000_000, 11_000_000][i % 5] + i, i + 1),
      }));
      const entries = entriesOf(files);
      const parts = planZipParts(entries, ZIP_10MB_LIMIT);
      expect(parts.length).to.be.greaterThan(3);
      const list: [string, { name: string; size: number }[]][] = [];
      for (const p of parts) {
        const partFiles = p.entries.map((i) => files[i]);
        const layout = computeZipLayout(
          p.entries.map((i) => entries[i]),
          { zip64: 'never' },
        );
        const zip = await collect(streamZip(layout, memorySource(partFiles)));
        expect(zip.length).to.equal(p.size);
        if (p.entries.length > 1) expect(zip.length).to.be.at.most(ZIP_10MB_LIMIT);
        assertZip32(zip, p.entries.length);
        list.push([
          tmp.file(`part.${p.number}.zip`, zip),
          partFiles.map((f) => ({ name: f.name, size: f.data.length })),
        ]);
      }
      const r = python(
        'import sys,zipfile\nfor p in sys.argv[1:]:\n  z=zipfile.ZipFile(p)\n  assert z.testzip() is None\n  print(len(z.infolist()))',
        list.map(([p]) => p),
      );
      expect(r.stderr).to.equal('');
      expect(r.stdout.trim().split('\n').map(Number)).to.deep.equal(parts.map((p) => p.entries.length));
    } finally {
      tmp.cleanup();
    }
  });
});
