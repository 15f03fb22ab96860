import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { expect } from 'chai';
import type { ArchiveEntry, OpenData } from '../../../server/domain/archive/entry.js';
import { computeZipLayout, dataOffset, type ZipLayout } from '../../../server/domain/archive/zip-layout.js';
import { streamZip, streamZipRange } from '../../../server/domain/archive/zip-stream.js';
import { bytes, collect, crcOfZeros, hasTool, python, run, tempDir, writeSparse, zeroStream } from '../../helpers/archive/helpers.js';
import { PY_CHECK_ZIP } from '../../helpers/archive/py-checks.js';
import { yauzlFromRanges } from '../../helpers/archive/yauzl-helpers.js';

const M = 0xffffffff;
const HEAVY = process.env.ARCHIVE_HEAVY === '1';

describe('domain/archive large ZIP64 archives (R-FILE-4)', function () {
  this.timeout(60_000);
  const tmp = tempDir();
  after(() => tmp.cleanup());

  describe('more than 65,535 entries', () => {
    const N = 70_000;
    const data = (i: number) => Buffer.from(`file ${i}\n`);
    const files = Array.from({ length: N }, (_, i) => ({ name: `d${i % 100}/f${i}.txt`, data: data(i) }));
    const entries: ArchiveEntry[] = files.map((f) => ({
      name: f.name,
      size: f.data.length,
      crc32: crc32(f.data),
      mtime: 1_700_000_000,
    }));
    const openData: OpenData = async (i, s, e) => Readable.from([files[i].data.subarray(s, e + 1)]);
    let path = '';
    let layout: ZipLayout;

    before(async () => {
      layout = computeZipLayout(entries, { zip64: 'always' });
      const full = await collect(streamZip(layout, openData));
      expect(full.length).to.equal(layout.totalSize);
      path = tmp.file('many.zip', full);
      // EOCD count is the 0xFFFF sentinel; the ZIP64 EOCD record holds the real count.
      const eocd = full.subarray(full.length - 22);
      expect(eocd.readUInt16LE(10)).to.equal(0xffff);
      expect(Number(full.readBigUInt64LE(full.length - 22 - 20 - 56 + 32))).to.equal(N);
    });

    it('R-FILE-4 Python zipfile reads all 70,000 entries and testzip() passes', () => {
      const manifest = tmp.file('many.json');
      const m = files.map((f) => ({ name: f.name, size: f.data.length }));
      writeFileSync(manifest, JSON.stringify([[path, m]]));
      const r = python(PY_CHECK_ZIP, [manifest]);
      expect(r.stderr).to.equal('');
      expect(r.stdout.trim()).to.equal('ok');
    });

    it('R-FILE-4 unzip -t, 7z t and bsdtar -tf accept 70,000 entries (each skipped when not installed)', function () {
      const tools = ['unzip', '7z', 'bsdtar'].filter(hasTool);
      if (tools.length === 0) return this.skip(); // none of unzip, 7z, bsdtar installed
      if (hasTool('unzip')) {
        const r = run('unzip', ['-tq', path]);
        expect(r.status, r.stdout + r.stderr).to.equal(0);
      }
      if (hasTool('7z')) {
        const r = run('7z', ['t', '-bd', path]);
        expect(r.stdout).to.match(/Everything is Ok/);
        expect(r.stdout).to.match(/Files: 70000/);
      }
      if (hasTool('bsdtar')) {
        const r = run('bsdtar', ['-tf', path]);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout.split('\n').filter((l) => l).length).to.equal(N);
      }
    });
  });

  describe('an entry of 4 GiB and entries beyond 4 GiB', () => {
    // 'big.bin' is exactly 0xFFFFFFFF bytes (the threshold itself), so 'after.txt' starts beyond 4 GiB.
    const small = bytes(5000, 7);
    const after = Buffer.from('after the big one\n');
    const entries: ArchiveEntry[] = [
      { name: 'small.bin', size: small.length, crc32: crc32(small), mtime: 1_700_000_000 },
      { name: 'big.bin', size: M, crc32: crcOfZeros(M), mtime: 1_700_000_000 },
      { name: 'after.txt', size: after.length, crc32: crc32(after), mtime: 1_700_000_000 },
    ];
    const content = [small, null, after];
    const openData: OpenData = async (i, s, e) => {
      const c = content[i];
      return c ? Readable.from([c.subarray(s, e + 1)]) : zeroStream(e - s + 1);
    };
    const layout = computeZipLayout(entries, { zip64: 'always' });
    const path = tmp.file('big.zip');

    before(async () => {
      expect(Array.from(layout.zip64Flags)).to.deep.equal([0, 3, 2]);
      const hole: [number, number] = [dataOffset(layout, 1), dataOffset(layout, 1) + M];
      await writeSparse(path, layout.totalSize, [hole], (a, b) => streamZipRange(layout, a, b, openData));
    });

    it('R-FILE-4 yauzl reading through streamZipRange extracts every entry with matching CRCs', async () => {
      const read = await yauzlFromRanges(
        layout.totalSize,
        (a, b) => streamZipRange(layout, a, b, openData),
        (name) => name !== 'big.bin',
      );
      expect(read.map((e) => [e.name, e.size, e.actualCrc === e.crc32])).to.deep.equal([
        ['small.bin', small.length, true],
        ['big.bin', M, true],
        ['after.txt', after.length, true],
      ]);
      expect(read[2].data!.equals(after)).to.equal(true);
    });

    it('R-FILE-4 the sparse file equals the streamed archive around the data hole (sha256 of head and tail)', async () => {
      const head = await collect(streamZipRange(layout, 0, dataOffset(layout, 1) - 1, openData));
      const tailFrom = dataOffset(layout, 1) + M;
      const tail = await collect(streamZipRange(layout, tailFrom, layout.totalSize - 1, openData));
      const r = python(
        'import sys,hashlib\nf=open(sys.argv[1],"rb");h=f.read(int(sys.argv[2]));f.seek(int(sys.argv[3]));t=f.read()\n' +
          'print(hashlib.sha256(h).hexdigest(), hashlib.sha256(t).hexdigest())',
        [path, String(head.length), String(tailFrom)],
      );
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      expect(r.stdout.trim()).to.equal(`${sha(head)} ${sha(tail)}`);
    });

    it('R-FILE-4 Python zipfile reads the ZIP64 fields; entries before/after 4 GiB are intact (CRC-checked)', () => {
      const manifest = tmp.file('big.json');
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      const m = [
        { name: 'small.bin', size: small.length, sha256: sha(small), offset: 0 },
        { name: 'big.bin', size: M, offset: layout.localOffsets[1] },
        { name: 'after.txt', size: after.length, sha256: sha(after), offset: layout.localOffsets[2] },
      ];
      // testzip() reads all 4 GiB in ~10 s: only with ARCHIVE_HEAVY=1.
      writeFileSync(manifest, JSON.stringify([[path, m, { testzip: HEAVY }]]));
      const r = python(PY_CHECK_ZIP, [manifest]);
      expect(r.stderr).to.equal('');
      expect(r.stdout.trim()).to.equal('ok');
    });

    it('R-FILE-4 unzip, 7z and bsdtar list it with the right sizes and test the data with ARCHIVE_HEAVY=1', function () {
      const tools = ['unzip', '7z', 'bsdtar'].filter(hasTool);
      if (tools.length === 0) return this.skip(); // none of unzip, 7z, bsdtar installed
      if (hasTool('unzip')) {
        const l = run('unzip', ['-Zl', path]);
        expect(l.status, l.stdout + l.stderr).to.equal(0);
        expect(l.stdout).to.match(/4294967295 .*big\.bin/);
        // -t reads and CRC-checks all 4 GiB (~10 s), so by default only the entry beyond 4 GiB is tested.
        const r = run('unzip', HEAVY ? ['-tq', path] : ['-tq', path, 'after.txt', 'small.bin']);
        expect(r.status, r.stdout + r.stderr).to.equal(0);
      }
      if (hasTool('7z')) {
        const l = run('7z', ['l', '-slt', '-ba', path]);
        expect(l.stdout).to.match(/Path = big\.bin\nFolder = -\nSize = 4294967295/);
        const r = run('7z', HEAVY ? ['t', '-bd', path] : ['t', '-bd', path, 'after.txt', 'small.bin']);
        expect(r.stdout, r.stdout + r.stderr).to.match(/Everything is Ok/);
      }
      if (hasTool('bsdtar')) {
        const r = run('bsdtar', ['-tvf', path]);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.match(/4294967295 .*big\.bin/);
        expect(r.stdout).to.match(/after\.txt/);
        const x = run('bsdtar', ['-xOf', path, 'after.txt']);
        expect(x.stdout).to.equal(after.toString());
      }
    });
  });
});
