import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createDirectoryTransport } from '../../../server/domain/transports/directory.js';
import { makeCtx, memoryFile, RUN_FOLDER, rejection, sampleFiles, tempDir } from './helpers.js';
import { readTree } from './remote-suite.js';

describe('directory transport (temp roots)', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let outside: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    root = await tempDir('dir-root-');
    outside = await tempDir('dir-outside-');
  });
  afterEach(async () => {
    await root.remove();
    await outside.remove();
  });

  it('R-TR-3 directory writes the run folder with manifest.json written last', async () => {
    const t = createDirectoryTransport([root.dir]);
    const target = path.join(root.dir, 'drop');
    const files = sampleFiles();
    const manifest = files.find((f) => f.path === 'manifest.json')!;
    const openManifest = manifest.open;
    let othersPresentAtManifest = false;
    manifest.open = async (signal) => {
      const run = path.join(target, RUN_FOLDER);
      othersPresentAtManifest =
        existsSync(path.join(run, 'objects.csv')) && existsSync(path.join(run, 'assets/1/photo.jpg'));
      return openManifest(signal);
    };
    await t.deliver(t.validate({ path: target }, 'o'), makeCtx({ files }));
    assert.ok(othersPresentAtManifest, 'all other files were in place before manifest.json was written');
    const got = await readTree(path.join(target, RUN_FOLDER));
    assert.deepEqual([...got.keys()].sort(), ['assets/1/photo.jpg', 'manifest.json', 'objects.csv']);
  });

  it('R-TR-2 directory refuses a path outside the roots at validation', () => {
    const t = createDirectoryTransport([root.dir]);
    assert.throws(
      () => t.validate({ path: outside.dir }, 'o'),
      (e: any) => e.parameters.path === 'o.path',
    );
    assert.throws(
      () => t.validate({ path: `${root.dir}/../x` }, 'o'),
      (e: any) => e.code === 'error.api.invalid_value',
    );
    assert.throws(
      () => t.validate({ path: 'relative/x' }, 'o'),
      (e: any) => e.code === 'error.api.invalid_value',
    );
  });

  it('R-TR-2 directory refuses a symlink inside a root that points outside', async () => {
    const t = createDirectoryTransport([root.dir]);
    await symlink(outside.dir, path.join(root.dir, 'escape'));
    const err = await rejection(() =>
      t.deliver(t.validate({ path: path.join(root.dir, 'escape', 'x') }, 'o'), makeCtx()),
    );
    assert.match(err.message, /resolves outside the allowed directories/);
    assert.equal((await readTree(outside.dir)).size, 0);
  });

  it('R-TR-3 directory removes the run folder when a file fails', async () => {
    const t = createDirectoryTransport([root.dir]);
    const broken = memoryFile('zzz.bin', '');
    broken.open = async () =>
      new Readable({
        read() {
          this.destroy(new Error('read error'));
        },
      });
    await mkdir(path.join(root.dir, 'drop'));
    const err = await rejection(() =>
      t.deliver(t.validate({ path: path.join(root.dir, 'drop') }, 'o'), makeCtx({ files: [...sampleFiles(), broken] })),
    );
    assert.match(err.message, /^Writing to the directory .* failed: read error/);
    assert.equal((await readTree(path.join(root.dir, 'drop'))).size, 0);
  });
});
