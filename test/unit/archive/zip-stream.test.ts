import { Readable } from 'node:stream';
import { expect } from 'chai';
import fc from 'fast-check';
import { computeZipLayout, localHeaderLength } from '../../../server/domain/archive/zip-layout.js';
import { streamZip, streamZipRange } from '../../../server/domain/archive/zip-stream.js';
import { expectedDos, ranges, testFiles, toRange } from '../../helpers/archive/arbitraries.js';
import { collect, entriesOf, memorySource } from '../../helpers/archive/helpers.js';
import { yauzlFromBuffer, yauzlFromRanges } from '../../helpers/archive/yauzl-helpers.js';
import { runs } from '../../helpers/thorough.js';

const streamOptions = fc.record({
  readAhead: fc.integer({ min: 1, max: 16 }),
  readAheadMaxBytes: fc.constantFrom(0, 100, 1 << 20),
  chunkSize: fc.constantFrom(1, 100, 65536),
});

describe('domain/archive zip streaming', () => {
  it('R-FILE-3 every byte range equals the same slice of the full stream, and totalSize is exact', async () => {
    await fc.assert(
      fc.asyncProperty(
        testFiles(),
        fc.constantFrom('always' as const, 'never' as const),
        streamOptions,
        fc.integer({ min: 1, max: 5000 }),
        ranges,
        async (files, zip64, options, chunk, rs) => {
          const layout = computeZipLayout(entriesOf(files), { zip64 });
          const source = memorySource(files, chunk);
          const full = await collect(streamZip(layout, source));
          expect(full.length).to.equal(layout.totalSize);
          // Read-ahead and chunking must never change a byte.
          expect((await collect(streamZip(layout, source, undefined, options))).equals(full)).to.equal(true);
          for (const r of rs) {
            const [a, b] = toRange(r, layout.totalSize);
            const part = await collect(streamZipRange(layout, a, b, source, undefined, options));
            expect(part.equals(full.subarray(a, b + 1)), `range ${a}-${b}`).to.equal(true);
          }
        },
      ),
      { numRuns: runs(150) },
    );
  });

  it('R-FILE-4 yauzl opens every generated archive; names, sizes, CRCs, contents, modes and times match', async () => {
    await fc.assert(
      fc.asyncProperty(testFiles(), fc.constantFrom('always' as const, 'never' as const), async (files, zip64) => {
        const entries = entriesOf(files);
        const layout = computeZipLayout(entries, { zip64 });
        const full = await collect(streamZip(layout, memorySource(files)));
        const read = await yauzlFromBuffer(full);
        expect(read.map((e) => e.name)).to.deep.equal(files.map((f) => f.name));
        read.forEach((e, i) => {
          expect(e.size).to.equal(entries[i].size);
          expect(e.crc32).to.equal(entries[i].crc32);
          expect(e.actualCrc).to.equal(entries[i].crc32);
          expect(e.data!.equals(files[i].data)).to.equal(true);
          expect(e.versionNeeded).to.equal(20);
          expect(e.externalAttributes >>> 16).to.equal(entries[i].mode ?? 0o100644);
          expect(e.lastMod.getTime()).to.equal(entries[i].mtime * 1000);
          const [y, mo, d, h, mi, sec] = expectedDos(entries[i].mtime);
          expect(e.dosDate.getTime()).to.equal(Date.UTC(y, mo - 1, d, h, mi, sec));
        });
      }),
      { numRuns: runs(60) },
    );
  });

  it('R-FILE-3 yauzl reading through streamZipRange (random access) sees the same archive', async () => {
    const files = [
      { name: 'a.txt', data: Buffer.from('hello') },
      { name: 'empty', data: Buffer.alloc(0) },
      { name: 'ü/中文.bin', data: Buffer.alloc(200_000, 7) },
    ];
    const layout = computeZipLayout(entriesOf(files), { zip64: 'always' });
    const source = memorySource(files, 1000);
    const read = await yauzlFromRanges(
      layout.totalSize,
      (a, b) => streamZipRange(layout, a, b, source),
      () => true,
    );
    expect(read.map((e) => e.data!.equals(files.find((f) => f.name === e.name)!.data))).to.deep.equal([
      true,
      true,
      true,
    ]);
  });

  it('R-FILE-3 a source yielding fewer bytes than recorded destroys the stream with an error', async () => {
    const layout = computeZipLayout(entriesOf([{ name: 'a', data: Buffer.alloc(10) }]), { zip64: 'always' });
    for (const readAheadMaxBytes of [0, 1024]) {
      const s = streamZip(layout, async () => Readable.from([Buffer.alloc(9)]), undefined, { readAheadMaxBytes });
      const err = await collect(s).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).to.match(/yielded 9 bytes, expected 10/);
    }
  });

  it('R-FILE-3 a source yielding more bytes than recorded fails before emitting them', async () => {
    const layout = computeZipLayout(entriesOf([{ name: 'a', data: Buffer.alloc(10) }]), { zip64: 'always' });
    for (const readAheadMaxBytes of [0, 1024]) {
      const seen: Buffer[] = [];
      const s = streamZip(layout, async () => Readable.from([Buffer.alloc(11, 1)]), undefined, {
        readAheadMaxBytes,
        chunkSize: 1,
      });
      s.on('data', (b: Buffer) => seen.push(b));
      const err = await new Promise<Error>((resolve) => s.on('error', resolve));
      expect(err.message).to.match(/more than 10/);
      expect(Buffer.concat(seen).length).to.be.at.most(localHeaderLength(layout, 0));
    }
  });

  it('R-FILE-3 a failing openData destroys the stream', async () => {
    const layout = computeZipLayout(entriesOf([{ name: 'a', data: Buffer.alloc(10) }]), { zip64: 'always' });
    const s = streamZip(layout, async () => {
      throw new Error('gone');
    });
    const err = await collect(s).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.equal('gone');
  });

  it('R-FILE-3 the AbortSignal destroys the output and every open source', async () => {
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, data: Buffer.alloc(100_000) }));
    const layout = computeZipLayout(entriesOf(files), { zip64: 'always' });
    const sources: Readable[] = [];
    const ac = new AbortController();
    const openData = async () => {
      // Never ends by itself: only a destroy can settle it.
      const s = new Readable({ read() {} });
      sources.push(s);
      return s;
    };
    const out = streamZip(layout, openData, ac.signal);
    out.resume();
    await new Promise((r) => setTimeout(r, 20));
    expect(sources.length).to.be.greaterThan(1); // read-ahead opened several
    ac.abort();
    const err = await new Promise<Error>((resolve) => out.on('error', resolve));
    expect(err.name).to.equal('AbortError');
    await new Promise((r) => setTimeout(r, 10));
    expect(sources.every((s) => s.destroyed)).to.equal(true);
  });

  it('R-FILE-3 destroying the output (client gone) destroys open sources', async () => {
    const layout = computeZipLayout(entriesOf([{ name: 'big', data: Buffer.alloc(10_000_000) }]), {
      zip64: 'always',
    });
    let source: Readable | undefined;
    const out = streamZip(layout, async () => {
      source = new Readable({ read() {} });
      source.push(Buffer.alloc(1000));
      return source;
    });
    out.resume();
    await new Promise((r) => setTimeout(r, 20));
    out.destroy();
    await new Promise((r) => setTimeout(r, 10));
    expect(source?.destroyed).to.equal(true);
  });

  it('R-FILE-3 backpressure: a paused consumer stops the source after a bounded amount', async () => {
    const size = 200 * 1024 * 1024;
    const layout = computeZipLayout([{ name: 'big', size, crc32: 0, mtime: 0 }], { zip64: 'always' });
    let produced = 0;
    const out = streamZip(layout, async () => {
      return new Readable({
        read() {
          produced += 65536;
          this.push(Buffer.alloc(65536));
        },
      });
    });
    out.once('data', () => out.pause());
    await new Promise((r) => setTimeout(r, 100));
    expect(produced).to.be.lessThan(4 * 1024 * 1024);
    out.destroy();
  });

  it('R-FILE-3 rejects ranges outside the archive', () => {
    const layout = computeZipLayout([], { zip64: 'always' });
    const source = memorySource([]);
    expect(() => streamZipRange(layout, 0, layout.totalSize, source)).to.throw(RangeError);
    expect(() => streamZipRange(layout, 5, 4, source)).to.throw(RangeError);
    expect(() => streamZipRange(layout, -1, 4, source)).to.throw(RangeError);
  });
});
