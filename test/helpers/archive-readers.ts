import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { hasTool, python, run, tempDir } from './archive/helpers.js';
import { PY_CHECK_ZIP } from './archive/py-checks.js';
import { yauzlFromBuffer } from './archive/yauzl-helpers.js';

export interface Expected {
  name: string;
  data: Buffer;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const skipped = new Set<string>();
const note = (tool: string) => {
  if (!skipped.has(tool)) console.log(`      (${tool} not installed: that reader is skipped)`);
  skipped.add(tool);
};

/**
 * R-FILE-4: a ZIP is read by yauzl and Python's zipfile (testzip) always, and by `unzip -t`, `7z t` and
 * `bsdtar -tf` when installed. Names, order and contents must equal `expected`.
 */
export async function checkZipReaders(zip: Buffer, expected: readonly Expected[]): Promise<void> {
  const entries = await yauzlFromBuffer(zip);
  expect(entries.map((e) => e.name)).to.deep.equal(expected.map((e) => e.name));
  for (const [i, e] of entries.entries()) {
    expect(e.actualCrc, e.name).to.equal(e.crc32);
    expect(e.data?.equals(expected[i].data), e.name).to.equal(true);
  }
  const tmp = tempDir();
  try {
    const file = tmp.file('a.zip', zip);
    const manifest = tmp.file('m.json');
    writeFileSync(manifest, JSON.stringify([[file, expected.map((e) => ({ name: e.name, size: e.data.length, sha256: sha(e.data) }))]]));
    const py = python(PY_CHECK_ZIP, [manifest]);
    expect(py.stderr).to.equal('');
    expect(py.stdout.trim()).to.equal('ok');
    if (!hasTool('unzip')) note('unzip');
    else if (expected.length > 0) {
      const r = run('unzip', ['-t', file]);
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.include('No errors detected');
    }
    if (!hasTool('7z')) note('7z');
    else {
      const r = run('7z', ['t', '-bd', file]);
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.include('Everything is Ok');
    }
    if (!hasTool('bsdtar')) note('bsdtar');
    else {
      const r = run('bsdtar', ['-tf', file]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout.split('\n').filter(Boolean)).to.deep.equal(expected.map((e) => e.name));
    }
  } finally {
    tmp.cleanup();
  }
}

const PY_TAR = `
import sys, json, tarfile, hashlib
path, mode, manifest = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
with tarfile.open(path, mode) as t:
    ms = [m for m in t.getmembers()]
    assert [m.name for m in ms] == [e['name'] for e in manifest], [m.name for m in ms]
    for m, e in zip(ms, manifest):
        assert m.isfile() and m.size == e['size'], (m.name, m.size)
        assert hashlib.sha256(t.extractfile(m).read()).hexdigest() == e['sha256'], m.name
print('ok')
`;

/** TAR (or tar.gz) read by Python's tarfile always, and by `bsdtar -tf` and GNU `tar -tf` when installed. */
export function checkTarReaders(tar: Buffer, expected: readonly Expected[], gz = false): void {
  const tmp = tempDir();
  try {
    const file = tmp.file(gz ? 'a.tar.gz' : 'a.tar', tar);
    const manifest = tmp.file('m.json');
    writeFileSync(manifest, JSON.stringify(expected.map((e) => ({ name: e.name, size: e.data.length, sha256: sha(e.data) }))));
    const py = python(PY_TAR, [file, gz ? 'r:gz' : 'r:', manifest]);
    expect(py.stderr).to.equal('');
    expect(py.stdout.trim()).to.equal('ok');
    for (const tool of ['bsdtar', 'tar']) {
      if (!hasTool(tool)) {
        note(tool);
        continue;
      }
      const r = run(tool, [gz ? '-tzf' : '-tf', file]);
      expect(r.status, `${tool}: ${r.stderr}`).to.equal(0);
      expect(r.stdout.split('\n').filter(Boolean), tool).to.deep.equal(expected.map((e) => e.name));
    }
  } finally {
    tmp.cleanup();
  }
}
