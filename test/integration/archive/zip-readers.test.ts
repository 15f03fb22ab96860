import { writeFileSync } from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import { computeZipLayout } from '../../../server/domain/archive/zip-layout.js';
import { streamZip } from '../../../server/domain/archive/zip-stream.js';
import { testFiles } from '../../helpers/archive/arbitraries.js';
import { collect, entriesOf, hasTool, memorySource, python, run, type TestFile, tempDir } from '../../helpers/archive/helpers.js';
import { manifestOf, PY_CHECK_ZIP } from '../../helpers/archive/py-checks.js';

describe('domain/archive zip in independent readers (R-FILE-4)', function () {
  this.timeout(60_000);
  const tmp = tempDir();
  const archives: { path: string; files: TestFile[] }[] = [];

  before(async () => {
    // A fixed sample of random lists (seeded) plus edge cases: empty archive, empty file, deep non-ASCII names.
    const samples = fc.sample(testFiles({ maxFiles: 15 }), { numRuns: 24, seed: 42 });
    samples.push([], [{ name: 'empty.txt', data: Buffer.alloc(0) }]);
    samples.push([
      { name: `${'ordner/'.repeat(20)}Grüße 😀.txt`, data: Buffer.from('x'.repeat(1000)) },
      { name: 'space name/ä ö ü.csv', data: Buffer.from('a;b\n1;2\n'), mtime: 0, mode: 0o100755 },
    ]);
    for (const [k, files] of samples.entries()) {
      for (const zip64 of ['always', 'never'] as const) {
        const layout = computeZipLayout(entriesOf(files), { zip64 });
        const path = tmp.file(`s${k}-${zip64}.zip`, await collect(streamZip(layout, memorySource(files))));
        archives.push({ path, files });
      }
    }
  });
  after(() => tmp.cleanup());

  it('R-FILE-4 Python zipfile testzip() passes and names/contents/times/modes match', () => {
    const manifest = tmp.file('manifest.json');
    writeFileSync(manifest, JSON.stringify(archives.map((a) => [a.path, manifestOf(a.files)])));
    const r = python(PY_CHECK_ZIP, [manifest]);
    expect(r.stderr).to.equal('');
    expect(r.stdout.trim()).to.equal('ok');
  });

  it('R-FILE-4 Info-ZIP unzip -t reports no errors', function () {
    if (!hasTool('unzip')) return this.skip(); // unzip not installed
    for (const a of archives) {
      if (a.files.length === 0) continue; // unzip exits 1 ("zipfile is empty") for a valid empty archive
      const r = run('unzip', ['-t', a.path]);
      expect(r.status, `${a.path}\n${r.stdout}${r.stderr}`).to.equal(0);
      expect(r.stdout).to.match(/No errors detected/);
      const names = run('unzip', ['-Z1', a.path])
        .stdout.split('\n')
        .filter((l) => l !== '');
      expect(names).to.deep.equal(a.files.map((f) => f.name));
    }
  });

  it('R-FILE-4 7-Zip 7z t reports Everything is Ok with every name', function () {
    if (!hasTool('7z')) return this.skip(); // 7z not installed
    for (const a of archives) {
      const r = run('7z', ['t', '-bd', a.path]);
      expect(r.status, `${a.path}\n${r.stdout}${r.stderr}`).to.equal(0);
      expect(r.stdout).to.match(/Everything is Ok/);
      expect(r.stderr).to.not.match(/warn/i);
      const listing = run('7z', ['l', '-slt', '-ba', a.path]).stdout;
      const names = [...listing.matchAll(/^Path = (.*)$/gm)].map((m) => m[1].normalize('NFC'));
      expect(names).to.deep.equal(a.files.map((f) => f.name.normalize('NFC')));
    }
  });

  it('R-FILE-4 libarchive bsdtar -tf lists exactly the entry names', function () {
    if (!hasTool('bsdtar')) return this.skip(); // bsdtar not installed
    for (const a of archives) {
      const r = run('bsdtar', ['-tf', a.path]);
      expect(r.status, `${a.path}\n${r.stderr}`).to.equal(0);
      const listed = r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.normalize('NFC'));
      // libarchive prints names NFC-normalised (e + U+0301 → é); the bytes in the archive are as given.
      expect(listed).to.deep.equal(a.files.map((f) => f.name.normalize('NFC')));
    }
  });
});
