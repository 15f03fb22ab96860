import { mkdtempSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { Staging } from '../../../server/domain/runs/staging.js';
import { LocalStorage } from '../../../server/infra/storage/local-storage.js';

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );

// A stop destroys a run's open streams at any moment; before the fix, a source destroyed while the storage still
// awaited its folder made the staging's meter emit 'error' with nobody listening, and the process died (mocha would
// report it here as an uncaught error).
describe('staging: a source destroyed by a stop before the storage listens', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'em-staging-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('rejects the write, leaves nothing, and raises no uncaught error', async () => {
    const storage = new LocalStorage(path.join(dir, 'storage'));
    const staging = new Staging(storage, 'exports/1/runs/1/', new AbortController().signal);
    for (let i = 0; i < 20; i++) {
      const source = new PassThrough();
      const written = staging.writeFile(`f${i}.csv`, source);
      source.destroy(new Error('run aborted'));
      const outcome = await written.then(
        () => 'written',
        (e: Error) => e.message,
      );
      expect(outcome).to.not.equal('written');
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(files(path.join(dir, 'storage')).filter((f) => !f.endsWith('/'))).to.deep.equal([]);
  });
});
