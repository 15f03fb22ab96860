import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import fc from 'fast-check';
import type { ArchiveEntry } from '../../../server/domain/archive/entry.js';
import { computeTarLayout, splitUstarName, tarHeader } from '../../../server/domain/archive/tar-layout.js';
import { streamTar, streamTarGz, streamTarRange } from '../../../server/domain/archive/tar-stream.js';
import { ranges, testFiles, toRange } from '../../helpers/archive/arbitraries.js';
import { collect, entriesOf, hasTool, memorySource, python, run, type TestFile, tempDir } from '../../helpers/archive/helpers.js';

/** The TAR size formula of our layout (tar-layout.ts), independent of the implementation. */
const predicted = (entries: ArchiveEntry[]): number => {
  let t = 1024;
  for (const e of entries) {
    const records: string[] = [];
    const ascii = /^[\x20-\x7e]*$/.test(e.name);
    const bytes = Buffer.byteLength(e.name);
    let splittable = ascii && bytes <= 100;
    if (ascii && !splittable) {
      for (let k = 1; k < e.name.length; k++) {
        if (e.name[k] === '/' && k <= 155 && e.name.length - k - 1 <= 100 && e.name.length - k - 1 > 0)
          splittable = true;
      }
    }
    if (!splittable) records.push(`path=${e.name}`);
    if (e.size >= 8 * 1024 ** 3) records.push(`size=${e.size}`);
    let p = 0;
    for (const r of records) {
      const body = Buffer.byteLength(` ${r}\n`);
      let d = 1;
      while (String(body + d).length !== d) d++;
      p += body + d;
    }
    t += 512 + 512 * Math.ceil(e.size / 512) + (p ? 512 + 512 * Math.ceil(p / 512) : 0);
  }
  return t;
};

/** Python tarfile (stream mode from stdin): names, sizes, contents, mtime, mode, uid/gid, pax only when needed. */
const PY_CHECK_TAR = `
import sys, json, tarfile, hashlib
for path, manifest in json.load(open(sys.argv[1])):
    with open(path, 'rb') as f, tarfile.open(fileobj=f, mode='r|') as t:
        seen = []
        for m in t:
            e = manifest[len(seen)]
            assert m.name == e['name'] and m.size == e['size'] and m.isfile(), (m.name, e['name'])
            assert m.mtime == e['mtime'] and m.mode == e['mode'] and m.uid == 0 and m.gid == 0, m.name
            assert ('path' in m.pax_headers) == e['pax'], (m.name, m.pax_headers)
            assert hashlib.sha256(t.extractfile(m).read()).hexdigest() == e['sha256'], m.name
            seen.append(m.name)
        assert len(seen) == len(manifest), path
print('ok', flush=True)
`;

const needsPaxPath = (name: string) => splitUstarName(name) === null;
const tarManifest = (files: TestFile[]) =>
  files.map((f) => ({
    name: f.name,
    size: f.data.length,
    mtime: f.mtime ?? 1_700_000_000,
    mode: (f.mode ?? 0o100644) & 0o7777,
    pax: needsPaxPath(f.name),
    sha256: createHash('sha256').update(f.data).digest('hex'),
  }));

const longNames: TestFile[] = [
  { name: 'x'.repeat(100), data: Buffer.from('exactly 100') },
  { name: `${'p'.repeat(155)}/${'n'.repeat(100)}`, data: Buffer.from('prefix 155 + name 100') },
  { name: `${'p'.repeat(156)}/${'n'.repeat(10)}`, data: Buffer.from('prefix 156: pax') },
  { name: `a/${'n'.repeat(101)}`, data: Buffer.from('name part 101: pax') },
  { name: 'y'.repeat(300), data: Buffer.from('one long segment') },
  { name: `${'dir/'.repeat(60)}file.txt`, data: Buffer.alloc(513, 1) },
  { name: 'Grüße/😀 e\u0301.txt', data: Buffer.alloc(512, 2) },
  { name: `${'ü'.repeat(200)}/x`, data: Buffer.alloc(0) },
];

describe('domain/archive tar (R-FILE-5)', function () {
  this.timeout(30_000);
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('R-FILE-3 every byte range equals the same slice of the full stream; totalSize matches the size formula', async () => {
    await fc.assert(
      fc.asyncProperty(testFiles({ maxSegment: 120 }), ranges, async (files, rs) => {
        const entries = entriesOf(files);
        const layout = computeTarLayout(entries);
        expect(layout.totalSize).to.equal(predicted(entries));
        const source = memorySource(files, 700);
        const full = await collect(streamTar(layout, source));
        expect(full.length).to.equal(layout.totalSize);
        for (const r of rs) {
          const [a, b] = toRange(r, layout.totalSize);
          const part = await collect(streamTarRange(layout, a, b, source, undefined, { chunkSize: 100 }));
          expect(part.equals(full.subarray(a, b + 1)), `range ${a}-${b}`).to.equal(true);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('R-FILE-4 Python tarfile reads random lists, long and non-ASCII names with pax only where needed', async () => {
    const samples = fc.sample(testFiles({ maxSegment: 120, maxFiles: 10 }), { numRuns: 20, seed: 7 });
    samples.push(longNames, []);
    const list: [string, ReturnType<typeof tarManifest>][] = [];
    for (const [k, files] of samples.entries()) {
      const tar = await collect(streamTar(computeTarLayout(entriesOf(files)), memorySource(files)));
      list.push([tmp.file(`p${k}.tar`, tar), tarManifest(files)]);
    }
    const manifest = tmp.file('tar.json');
    writeFileSync(manifest, JSON.stringify(list));
    const r = python(PY_CHECK_TAR, [manifest]);
    expect(r.stderr).to.equal('');
    expect(r.stdout.trim()).to.equal('ok');
  });

  it('R-FILE-4 GNU tar -tf and bsdtar -tf list the exact names (skipped when not installed)', async function () {
    const tools = ['tar', 'bsdtar'].filter(hasTool);
    if (tools.length === 0) return this.skip(); // neither tar nor bsdtar installed
    const samples = fc.sample(testFiles({ maxSegment: 120, maxFiles: 10 }), { numRuns: 10, seed: 9 });
    samples.push(longNames);
    for (const files of samples) {
      const path = tmp.file('t.tar', await collect(streamTar(computeTarLayout(entriesOf(files)), memorySource(files))));
      for (const tool of tools) {
        const args = tool === 'tar' ? ['--quoting-style=literal', '-tf', path] : ['-tf', path];
        const r = run(tool, args);
        expect(r.status, `${tool}: ${r.stderr}`).to.equal(0);
        expect(r.stderr, tool).to.equal('');
        const listed = r.stdout.split('\n').filter((l) => l !== '');
        expect(listed.map((l) => l.normalize('NFC'))).to.deep.equal(files.map((f) => f.name.normalize('NFC')));
      }
      if (tools.includes('tar')) {
        // Contents too: GNU tar extracts to stdout in archive order.
        const r = run('tar', ['-xOf', path]);
        expect(r.stdoutBytes.equals(Buffer.concat(files.map((f) => f.data)))).to.equal(true);
      }
    }
  });

  it('R-FILE-3 headers are deterministic: uid/gid 0, empty uname/gname, mode, ustar magic, valid checksum', () => {
    const layout = computeTarLayout([{ name: 'a/b.txt', size: 3, crc32: 0, mtime: 1234, mode: 0o100755 }]);
    const h = tarHeader(layout, 0);
    expect(h.length).to.equal(512);
    expect(h.subarray(0, 7).toString()).to.equal('a/b.txt');
    expect(h.subarray(100, 108).toString()).to.equal('0000755\0');
    expect(h.subarray(108, 124).toString()).to.equal('0000000\u00000000000\0');
    expect(h.subarray(136, 148).toString()).to.equal(`${(1234).toString(8).padStart(11, '0')}\0`);
    expect(h.subarray(257, 265).toString()).to.equal('ustar\u000000');
    expect(h.subarray(265, 329).every((b) => b === 0)).to.equal(true);
    const sum = [...h].reduce((s, b, i) => s + (i >= 148 && i < 156 ? 32 : b), 0);
    expect(Number.parseInt(h.subarray(148, 154).toString(), 8)).to.equal(sum);
  });

  it('R-FILE-5 tar.gz is the gzip of the exact TAR stream and Python reads it', async () => {
    const files = longNames;
    const layout = computeTarLayout(entriesOf(files));
    const tar = await collect(streamTar(layout, memorySource(files)));
    const gz = await collect(streamTarGz(layout, memorySource(files)));
    expect(gunzipSync(gz).equals(tar)).to.equal(true);
    expect((await collect(streamTarGz(layout, memorySource(files)))).equals(gz)).to.equal(true);
    const r = python(
      'import sys,tarfile\nt=tarfile.open(fileobj=sys.stdin.buffer,mode="r|gz")\nprint(len([m for m in t]))',
      [],
      gz,
    );
    expect(r.stdout.trim()).to.equal(String(files.length));
  });
});
