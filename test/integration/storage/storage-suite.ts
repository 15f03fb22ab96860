import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { Storage } from '../../../server/infra/storage/storage.js';

/** What a backend's test file hands the shared suite. */
export interface SuiteBackend {
  storage: Storage;
  /** Every name the backend holds, including what is not an object yet (temp files, multipart uploads). */
  raw(): Promise<string[]>;
  /** Connections or file descriptors the backend holds open for reads now (released ones must disappear). */
  openResources(): Promise<number>;
  /** The size of one streamed read chunk (ranges are checked around its boundaries). */
  readChunk: number;
}

/** Every file below `dir`, relative (hidden temp files included). */
export const filesBelow = async (dir: string): Promise<string[]> =>
  ((await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) as Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();

const collect = async (s: Readable | Buffer): Promise<Buffer> => {
  if (Buffer.isBuffer(s)) return s;
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

const failure = async (p: Promise<unknown>): Promise<(Error & { code?: string }) | null> =>
  p.then(
    () => null,
    (e: Error & { code?: string }) => e,
  );

const eventually = async <T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> => {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > until) return v;
    await sleep(20);
  }
};

/**
 * The behaviour every Storage backend shares (R-SCALE-1), written once and run against each (test/integration/storage/storage-*
 * tests), as tus-node-server does for its stores. `setup` runs once per backend; every test uses its own prefix.
 */
export function storageSuite(name: string, setup: () => Promise<SuiteBackend>) {
  describe(`storage suite: ${name}`, function () {
    this.timeout(120_000);
    let b: SuiteBackend;
    let storage: Storage;
    let n = 0;
    let prefix = '';
    before(async () => {
      b = await setup();
      storage = b.storage;
    });
    beforeEach(() => {
      prefix = `t${++n}/`;
    });
    const put = (key: string, data: Buffer) => storage.write(key, Readable.from([data]));

    it('R-SCALE-1 exact ranges at every boundary, with read and readSlice', async () => {
      const c = b.readChunk;
      const size = 3 * c + 17;
      const data = randomBytes(size);
      const key = `${prefix}obj.bin`;
      expect((await put(key, data)).size).to.equal(size);
      expect((await storage.stat(key))?.size).to.equal(size);
      expect((await collect(await storage.read(key))).equals(data), 'whole').to.equal(true);
      const points = [0, 1, c - 1, c, c + 1, 2 * c - 1, 2 * c, 3 * c, size - 2, size - 1];
      const ranges: [number, number][] = [];
      for (const a of points) for (const z of points) if (z >= a) ranges.push([a, z]);
      for (const [start, end] of ranges) {
        const want = data.subarray(start, end + 1);
        const r = await collect(await storage.read(key, { start, end, expectedSize: size }));
        expect(r.equals(want), `read ${start}-${end}`).to.equal(true);
        const s = await collect(await storage.readSlice(key, { start, end, expectedSize: size }));
        expect(s.equals(want), `readSlice ${start}-${end}`).to.equal(true);
      }
      // Open end: from `start` to the last byte.
      expect((await collect(await storage.read(key, { start: c + 5 }))).equals(data.subarray(c + 5))).to.equal(true);
    });

    it('R-SCALE-1 an empty object reads as no bytes (whole and as an empty slice)', async () => {
      const key = `${prefix}empty`;
      expect((await put(key, Buffer.alloc(0))).size).to.equal(0);
      expect((await storage.stat(key))?.size).to.equal(0);
      expect((await collect(await storage.read(key))).length).to.equal(0);
      expect((await collect(await storage.read(key, { start: 0, end: -1, expectedSize: 0 }))).length).to.equal(0);
      expect((await collect(await storage.readSlice(key, { start: 0, end: -1, expectedSize: 0 }))).length).to.equal(0);
    });

    it('R-SCALE-1 a missing key: reads reject with ENOENT, stat is null, deletes are fine', async () => {
      const key = `${prefix}nothing/here.txt`;
      expect((await failure(storage.read(key)))?.code).to.equal('ENOENT');
      expect((await failure(storage.read(key, { start: 0, end: 10, expectedSize: 11 })))?.code).to.equal('ENOENT');
      expect((await failure(storage.readSlice(key, { start: 0, end: 10, expectedSize: 11 })))?.code).to.equal('ENOENT');
      expect((await failure(storage.readSlice(key, { start: 0, end: 10 << 20 })))?.code).to.equal('ENOENT');
      expect(await storage.stat(key)).to.equal(null);
      await storage.delete(key);
      await storage.deletePrefix(`${prefix}nothing/`);
    });

    it('R-SCALE-1 a size that changed since it was recorded fails before any byte (small and large reads)', async () => {
      const key = `${prefix}changed.bin`;
      const size = 2 * b.readChunk + 3;
      await put(key, randomBytes(size));
      for (const expectedSize of [size - 1, size + 1, 0]) {
        for (const [start, end] of [
          [0, size - 1],
          [0, 9],
          [size - 10, size - 1],
          [1, size - 2],
        ]) {
          expect(
            (await failure(storage.read(key, { start, end, expectedSize })))?.code,
            `read ${expectedSize}`,
          ).to.equal('ESIZE');
          expect(
            (await failure(storage.readSlice(key, { start, end, expectedSize })))?.code,
            `slice ${expectedSize}`,
          ).to.equal('ESIZE');
        }
      }
    });

    it('R-SCALE-1 a write becomes visible only when complete; an overwrite shows the old bytes until then', async () => {
      const key = `${prefix}slow.txt`;
      const body = new PassThrough();
      const writing = storage.write(key, body);
      body.write(Buffer.from('first half, '));
      await sleep(100);
      expect(await storage.stat(key)).to.equal(null);
      expect((await failure(storage.read(key)))?.code).to.equal('ENOENT');
      const listed: string[] = [];
      for await (const o of storage.list(prefix)) listed.push(o.key);
      expect(listed).to.deep.equal([]);
      body.end(Buffer.from('second half'));
      expect((await writing).size).to.equal(23);
      expect((await collect(await storage.read(key))).toString()).to.equal('first half, second half');

      const again = new PassThrough();
      const rewriting = storage.write(key, again);
      again.write(Buffer.from('new '));
      await sleep(100);
      expect((await collect(await storage.read(key))).toString()).to.equal('first half, second half');
      again.end(Buffer.from('bytes'));
      await rewriting;
      expect((await collect(await storage.read(key))).toString()).to.equal('new bytes');
    });

    it('R-SCALE-1 an aborted write and a failing source leave nothing behind (also past one multipart part)', async () => {
      const before = await b.raw();
      for (const big of [false, true]) {
        // Aborted through the signal.
        const controller = new AbortController();
        const body = new PassThrough();
        const key = `${prefix}aborted-${big}.bin`;
        const writing = failure(storage.write(key, body, controller.signal));
        body.write(randomBytes(big ? 6 << 20 : 1000));
        await sleep(200);
        controller.abort(new Error('run stopped'));
        expect(await writing, 'aborted write rejects').to.be.instanceOf(Error);
        // The source fails mid-way.
        const failing = new PassThrough();
        const key2 = `${prefix}failing-${big}.bin`;
        const writing2 = failure(storage.write(key2, failing));
        failing.write(randomBytes(big ? 6 << 20 : 1000));
        await sleep(200);
        failing.destroy(new Error('producer failed'));
        expect((await writing2)?.message).to.match(/producer failed/);
        expect(await storage.stat(key)).to.equal(null);
        expect(await storage.stat(key2)).to.equal(null);
      }
      const after = await eventually(
        () => b.raw(),
        (names) => names.length === before.length,
      );
      expect(after).to.deep.equal(before);
    });

    it('R-SCALE-1 delete by prefix removes thousands of keys and nothing beside them', async () => {
      const N = 2100;
      for (let i = 0; i < N; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, k) =>
            put(`${prefix}run/${(i + k) % 7}/f${i + k}.txt`, Buffer.from(`${i + k}`)),
          ),
        );
      }
      await put(`${prefix}run-other/keep.txt`, Buffer.from('keep'));
      await put(`${prefix}runner.txt`, Buffer.from('keep'));
      let count = 0;
      for await (const _ of storage.list(`${prefix}run/`)) count++;
      expect(count).to.equal(N);
      await storage.deletePrefix(`${prefix}run/`);
      const left: string[] = [];
      for await (const o of storage.list(prefix)) left.push(o.key);
      expect(left).to.deep.equal([`${prefix}run-other/keep.txt`, `${prefix}runner.txt`]);
    });

    it('R-SCALE-1 listing: every object under a prefix with its size, in key order, nothing from a sibling prefix', async () => {
      await put(`${prefix}exports/1/b.txt`, Buffer.from('bb'));
      await put(`${prefix}exports/1/a/deep/x.bin`, Buffer.from('x'));
      await put(`${prefix}exports/10/c.txt`, Buffer.from('ccc'));
      await put(`${prefix}exports/2.txt`, Buffer.from(''));
      const list = async (p: string) => {
        const out: [string, number][] = [];
        for await (const o of storage.list(p)) out.push([o.key, o.size]);
        return out;
      };
      expect(await list(`${prefix}exports/1/`)).to.deep.equal([
        [`${prefix}exports/1/a/deep/x.bin`, 1],
        [`${prefix}exports/1/b.txt`, 2],
      ]);
      expect((await list(`${prefix}exports/`)).map(([k]) => k)).to.deep.equal([
        `${prefix}exports/1/a/deep/x.bin`,
        `${prefix}exports/1/b.txt`,
        `${prefix}exports/10/c.txt`,
        `${prefix}exports/2.txt`,
      ]);
      expect(await list(`${prefix}nothing/`)).to.deep.equal([]);
      await storage.delete(`${prefix}exports/10/c.txt`);
      expect((await list(`${prefix}exports/`)).length).to.equal(3);
    });

    it('R-SCALE-1 concurrent readers of one object each get exactly their range', async () => {
      const size = 4 * b.readChunk + 123;
      const data = randomBytes(size);
      const key = `${prefix}shared.bin`;
      await put(key, data);
      const ranges = Array.from({ length: 24 }, (_, i) => {
        const start = Math.floor((i * size) / 31);
        return [start, Math.min(size - 1, start + ((i * 7919 * 1031) % size))] as const;
      });
      const got = await Promise.all(
        ranges.map(([start, end]) => storage.read(key, { start, end, expectedSize: size }).then(collect)),
      );
      ranges.forEach(([start, end], i) => {
        expect(got[i].equals(data.subarray(start, end + 1)), `${start}-${end}`).to.equal(true);
      });
    });

    it('R-SCALE-1 a cancelled read (destroyed, or its signal aborted) releases its connection or file', async () => {
      const size = 6 * b.readChunk;
      const data = randomBytes(size);
      const key = `${prefix}cancel.bin`;
      await put(key, data);
      const baseline = await eventually(
        () => b.openResources(),
        (v) => v === 0,
      );
      for (let i = 0; i < 12; i++) {
        const controller = new AbortController();
        const s = await storage.read(key, { signal: controller.signal, expectedSize: size });
        await new Promise((resolve) => s.once('readable', resolve));
        if (i % 2) s.destroy();
        else controller.abort(new Error('client went away'));
      }
      const after = await eventually(
        () => b.openResources(),
        (v) => v <= baseline,
      );
      expect(after).to.be.at.most(baseline);
      // And the backend still serves reads (a leaked pool would stall here).
      expect((await collect(await storage.read(key))).equals(data)).to.equal(true);
    });
  });
}
