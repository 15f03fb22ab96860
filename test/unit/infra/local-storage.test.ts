import { chmodSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { LocalStorage } from '../../../server/infra/storage/local-storage.js';

const mode = (p: string) => statSync(p).mode & 0o777;

describe('local storage permissions (stored files are the service account’s only)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'em-storage-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates folders 0700 and files 0600, whatever the umask', async () => {
    const root = path.join(dir, 'data', 'storage');
    const storage = new LocalStorage(root);
    const old = process.umask(0o022);
    try {
      await storage.write('exports/1/files/a/b.csv', Readable.from([Buffer.from('x,y\n')]));
    } finally {
      process.umask(old);
    }
    expect(mode(root)).to.equal(0o700);
    expect(mode(path.join(root, 'exports'))).to.equal(0o700);
    expect(mode(path.join(root, 'exports/1/files/a'))).to.equal(0o700);
    expect(mode(path.join(root, 'exports/1/files/a/b.csv'))).to.equal(0o600);
  });

  it('closes a storage folder that an older version left readable by everyone', async () => {
    const root = path.join(dir, 'storage');
    mkdirSync(root, { recursive: true });
    chmodSync(root, 0o755);
    await new LocalStorage(root).write('k', Readable.from([Buffer.from('1')]));
    expect(mode(root)).to.equal(0o700);
  });

  it('prepare() at start closes it before anything is written (a server that only serves downloads)', async () => {
    const root = path.join(dir, 'old-storage');
    mkdirSync(root, { recursive: true });
    chmodSync(root, 0o755);
    await new LocalStorage(root).prepare();
    expect(mode(root)).to.equal(0o700);
  });
});
