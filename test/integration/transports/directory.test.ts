import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createDirectoryTransport } from '../../../server/domain/transports/directory.js';
import { makeCtx, memoryFile, OWNER_ID, RUN_FOLDER, rejection, sampleFiles, tempDir } from './helpers.js';
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
    const target = path.join(root.dir, String(OWNER_ID), 'drop');
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
    await t.deliver(t.validate({ path: path.join(root.dir, 'drop') }, 'o'), makeCtx({ files }));
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
    await mkdir(path.join(root.dir, String(OWNER_ID)));
    await symlink(outside.dir, path.join(root.dir, String(OWNER_ID), 'escape'));
    const err = await rejection(() =>
      t.deliver(t.validate({ path: path.join(root.dir, 'escape', 'x') }, 'o'), makeCtx()),
    );
    assert.match(err.message, /resolves outside the allowed directories/);
    assert.equal((await readTree(outside.dir)).size, 0);
    assert.equal(existsSync(path.join(outside.dir, 'x')), false, 'no folder was created through the symlink');
    // The owner folder itself a symlink: refused the same way.
    const other = createDirectoryTransport([root.dir]);
    await symlink(outside.dir, path.join(root.dir, '4'));
    const err2 = await rejection(() =>
      other.deliver(other.validate({ path: path.join(root.dir, 'y') }, 'o'), makeCtx({ ownerId: 4 })),
    );
    assert.match(err2.message, /resolves outside the allowed directories/);
    assert.equal(existsSync(path.join(outside.dir, 'y')), false);
  });

  it('R-ROB-6 directory writes below a folder of the owner: two owners with the same name and path never meet', async () => {
    const t = createDirectoryTransport([root.dir]);
    const options = t.validate({ path: path.join(root.dir, 'drop') }, 'o');
    const mine = [memoryFile('manifest.json', '{"owner":1}'), memoryFile('data.csv', 'mine')];
    const theirs = [memoryFile('manifest.json', '{"owner":2}'), memoryFile('data.csv', 'theirs')];
    await t.deliver(options, makeCtx({ ownerId: 1, files: mine }));
    await t.deliver(options, makeCtx({ ownerId: 2, files: theirs }));
    assert.equal(await readFile(path.join(root.dir, '1', 'drop', RUN_FOLDER, 'data.csv'), 'utf8'), 'mine');
    assert.equal(await readFile(path.join(root.dir, '2', 'drop', RUN_FOLDER, 'data.csv'), 'utf8'), 'theirs');
    assert.equal(existsSync(path.join(root.dir, 'drop')), false, 'nothing outside the owner folders');
  });

  it('R-ROB-6 directory never replaces a file it did not create, and a failure removes only its own files', async () => {
    const t = createDirectoryTransport([root.dir]);
    const options = t.validate({ path: path.join(root.dir, 'drop') }, 'o');
    // Someone else's run folder with the same name and second, holding their files.
    const foreign = path.join(root.dir, String(OWNER_ID), 'drop', RUN_FOLDER);
    await mkdir(foreign, { recursive: true });
    await writeFile(path.join(foreign, 'objects.csv'), 'not yours');
    await writeFile(path.join(foreign, '.objects.csv.part'), 'not yours either');
    await t.deliver(options, makeCtx());
    assert.equal(await readFile(path.join(foreign, 'objects.csv'), 'utf8'), 'not yours');
    assert.equal(await readFile(path.join(foreign, '.objects.csv.part'), 'utf8'), 'not yours either');
    const ours = await readTree(`${foreign}.42`);
    assert.deepEqual([...ours.keys()].sort(), ['assets/1/photo.jpg', 'manifest.json', 'objects.csv']);
    // A failing delivery into the same place: the foreign files and the earlier delivery stay.
    const broken = memoryFile('zzz.bin', '');
    broken.open = async () =>
      new Readable({
        read() {
          this.destroy(new Error('read error'));
        },
      });
    const err = await rejection(() => t.deliver(options, makeCtx({ runId: 43, files: [...sampleFiles(), broken] })));
    assert.match(err.message, /read error/);
    assert.equal(existsSync(`${foreign}.43`), false, 'the failed attempt removed its own run folder');
    const again = await rejection(() => t.deliver(options, makeCtx({ runId: 42 })));
    assert.match(again.message, /exists already and was not created by this delivery/);
    assert.equal(await readFile(path.join(foreign, 'objects.csv'), 'utf8'), 'not yours');
    assert.equal((await readTree(`${foreign}.42`)).size, 3);
  });

  it('R-TR-3 directory removes what a failed attempt created, and only that', async () => {
    const t = createDirectoryTransport([root.dir]);
    const broken = memoryFile('zzz.bin', '');
    broken.open = async () =>
      new Readable({
        read() {
          this.destroy(new Error('read error'));
        },
      });
    await mkdir(path.join(root.dir, String(OWNER_ID), 'drop'), { recursive: true });
    await writeFile(path.join(root.dir, String(OWNER_ID), 'drop', 'keep.txt'), 'kept');
    const err = await rejection(() =>
      t.deliver(t.validate({ path: path.join(root.dir, 'drop') }, 'o'), makeCtx({ files: [...sampleFiles(), broken] })),
    );
    assert.match(err.message, /^Writing to the directory .* failed: read error/);
    assert.deepEqual([...(await readTree(path.join(root.dir, String(OWNER_ID), 'drop'))).keys()], ['keep.txt']);
  });
});
