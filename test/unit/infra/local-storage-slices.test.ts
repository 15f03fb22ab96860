import { writeFileSync } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { expect } from 'chai';
import path from 'node:path';
import { computeZipLayout } from '../../../server/domain/archive/zip-layout.js';
import { streamZip } from '../../../server/domain/archive/zip-stream.js';
import { LocalStorage } from '../../../server/infra/storage/local-storage.js';
import { bytes, collect, entriesOf, tempDir } from '../../helpers/archive/helpers.js';

const asBuffer = async (x: Readable | Buffer) => (Buffer.isBuffer(x) ? x : collect(x));

describe('local storage slices (the archive data source: Buffer for small slices, size checked first)', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const storage = new LocalStorage(tmp.dir);
  /** Bytes [start, end] of a file in the temp folder, recorded as `size` bytes. */
  const openFileSlice = (file: string, size: number, start: number, end: number, signal?: AbortSignal) =>
    storage.readSlice(path.relative(tmp.dir, file), { start, end, signal, expectedSize: size });
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

  /** Descriptors of this process naming `file` (the FileHandle is closed asynchronously after destroy). */
  const openCount = async (file: string) => {
    const fds = await readdir('/proc/self/fd');
    const targets = await Promise.all(fds.map((n) => readlink(`/proc/self/fd/${n}`).catch(() => '')));
    return targets.filter((t) => t === file).length;
  };

  it('issue 8: an abort while the slice stream travels through awaits (nobody listening yet) closes it, no unhandled error', async () => {
    // Before the fix Node destroyed the stream with an AbortError emitted to no listener: an uncaught exception here.
    for (const abortFirst of [false, true]) {
      const controller = new AbortController();
      const opening = openFileSlice(bigPath, big.length, 0, big.length - 1, controller.signal);
      if (abortFirst) controller.abort(new Error('client went away'));
      const s = await opening.catch((e: Error) => e);
      if (!abortFirst) {
        expect(await openCount(bigPath), 'the slice holds its file open').to.equal(1);
        controller.abort(new Error('client went away'));
      }
      await new Promise((r) => setTimeout(r, 50));
      if (s instanceof Error) expect(s.message).to.equal('client went away');
      else expect((s as Readable).destroyed).to.equal(true);
      expect(await openCount(bigPath)).to.equal(0);
    }
  });

  it('issue 8: an archive stream whose signal aborts before anyone listens closes every source, no unhandled error', async () => {
    const entries = entriesOf([{ name: 'big.bin', data: big }, { name: 'small.bin', data: small }]);
    const layout = computeZipLayout(entries, { zip64: 'always' });
    const paths = [bigPath, smallPath];
    const controller = new AbortController();
    const zip = streamZip(layout, (i, s, e, signal) => openFileSlice(paths[i], entries[i].size, s, e, signal), controller.signal);
    zip.resume(); // flowing, but no 'error' listener of the consumer's own
    await new Promise((r) => setTimeout(r, 5));
    controller.abort(new Error('client went away'));
    await new Promise((r) => setTimeout(r, 50));
    expect(zip.destroyed).to.equal(true);
    expect(await openCount(bigPath)).to.equal(0);
  });
});
