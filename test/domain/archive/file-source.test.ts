import { writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { openFileSlice } from '../../../server/domain/archive/file-source.js';
import { computeZipLayout } from '../../../server/domain/archive/zip-layout.js';
import { streamZip } from '../../../server/domain/archive/zip-stream.js';
import { bytes, collect, entriesOf, tempDir } from './helpers.js';

const asBuffer = async (x: Awaited<ReturnType<typeof openFileSlice>>) => (Buffer.isBuffer(x) ? x : collect(x));

describe('domain/archive openFileSlice (local data source)', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const small = bytes(5000, 3);
  const big = bytes(600_000, 4);
  const smallPath = tmp.file('small.bin', small);
  const bigPath = tmp.file('big.bin', big);

  it('R-FILE-3 returns exact slices of small (Buffer) and large (stream) files', async () => {
    expect((await asBuffer(await openFileSlice(smallPath, 5000, 0, 4999))).equals(small)).to.equal(true);
    expect((await asBuffer(await openFileSlice(smallPath, 5000, 10, 20))).equals(small.subarray(10, 21))).to.equal(
      true,
    );
    const whole = await openFileSlice(bigPath, big.length, 0, big.length - 1);
    expect(Buffer.isBuffer(whole)).to.equal(false);
    expect((await asBuffer(whole)).equals(big)).to.equal(true);
    const tail = await openFileSlice(bigPath, big.length, 100, big.length - 1);
    expect((await asBuffer(tail)).equals(big.subarray(100))).to.equal(true);
  });

  it('R-FILE-3 a file whose size differs from _files fails before any byte is sent', async () => {
    for (const [path, recorded, start, end] of [
      [smallPath, 4999, 0, 4998],
      [smallPath, 5001, 0, 5000],
      [smallPath, 6000, 10, 20],
      [bigPath, big.length + 1, 0, big.length],
    ] as const) {
      const err = await openFileSlice(path, recorded, start, end).then(
        () => null,
        (e: Error & { code?: string }) => e,
      );
      expect(err?.message, `${recorded}`).to.match(/differs from the recorded/);
    }
  });

  it('R-FILE-3 a file changed after publishing makes the archive stream fail', async () => {
    const path = tmp.file('changing.txt', Buffer.from('12345'));
    const entries = entriesOf([{ name: 'changing.txt', data: Buffer.from('12345') }]);
    writeFileSync(path, '1234');
    const layout = computeZipLayout(entries, { zip64: 'always' });
    const err = await collect(streamZip(layout, (_i, s, e) => openFileSlice(path, 5, s, e))).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/differs from the recorded 5/);
  });
});
