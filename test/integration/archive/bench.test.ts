import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { ZipArchive } from 'archiver';
import { expect } from 'chai';
import type { ArchiveEntry } from '../../../server/domain/archive/entry.js';
import { computeZipLayout } from '../../../server/domain/archive/zip-layout.js';
import { streamZip } from '../../../server/domain/archive/zip-stream.js';
import { LocalStorage } from '../../../server/infra/storage/local-storage.js';
import { bytes, tempDir } from '../../helpers/archive/helpers.js';

const sink = () =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

/**
 * Throughput on many small files, ours vs archiver (store). Writes ~90 MB of files, so only with ARCHIVE_BENCH=1:
 *   ARCHIVE_BENCH=1 npx mocha test/integration/archive/bench.test.ts
 */
describe('domain/archive benchmark: 20,000 files of 1–8 KiB (ARCHIVE_BENCH=1)', function () {
  this.timeout(300_000);
  if (process.env.ARCHIVE_BENCH !== '1') return;
  const tmp = tempDir();
  const N = 20_000;
  const entries: ArchiveEntry[] = [];
  const paths: string[] = [];
  after(() => tmp.cleanup());

  before(async () => {
    for (let d = 0; d < 100; d++) mkdirSync(path.join(tmp.dir, `d${d}`));
    for (let i = 0; i < N; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, N - i) }, async (_, k) => {
          const j = i + k;
          const data = bytes(1024 + ((j * 7919) % (7 * 1024 + 1)), j + 1);
          const name = `d${j % 100}/file-${j}.bin`;
          paths[j] = path.join(tmp.dir, name);
          entries[j] = { name, size: data.length, crc32: crc32(data), mtime: 1_700_000_000 };
          await writeFile(paths[j], data);
        }),
      );
    }
  });

  it('R-FILE-3 streamZip with read-ahead is at least 4× archiver in files/s', async () => {
    const t0 = performance.now();
    const archive = new ZipArchive({ store: true });
    const done = pipeline(archive, sink());
    for (let i = 0; i < N; i++) archive.file(paths[i], { name: entries[i].name });
    await archive.finalize();
    await done;
    const archiverMs = performance.now() - t0;

    const t1 = performance.now();
    const layout = computeZipLayout(entries, { zip64: 'always' });
    const storage = new LocalStorage(tmp.dir);
    await pipeline(
      streamZip(layout, (i, start, end, signal) => storage.readSlice(entries[i].name, { start, end, signal, expectedSize: entries[i].size })),
      sink(),
    );
    const oursMs = performance.now() - t1;
    const rate = (ms: number) => Math.round((N / ms) * 1000);
    console.log(`      archiver: ${rate(archiverMs)} files/s, streamZip: ${rate(oursMs)} files/s`);
    expect(rate(oursMs)).to.be.at.least(4 * rate(archiverMs));
  });
});
