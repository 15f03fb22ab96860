import { mkdtempSync } from 'node:fs';
import { readdir, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../../server/infra/storage/local-storage.js';
import { filesBelow, storageSuite } from './storage-suite.js';

describe('local storage backend', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'em-storage-suite-'));
  after(() => rm(dir, { recursive: true, force: true }));
  storageSuite('local folder', async () => ({
    storage: new LocalStorage(dir),
    raw: () => filesBelow(dir),
    // Descriptors of this process open on a file of the storage folder.
    openResources: async () => {
      const fds = await readdir('/proc/self/fd');
      const targets = await Promise.all(fds.map((f) => readlink(`/proc/self/fd/${f}`).catch(() => '')));
      return targets.filter((t) => t.startsWith(`${dir}/`)).length;
    },
    readChunk: 512 * 1024,
  }));
});
