import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { ArchiveEntry, OpenData } from '../../../server/domain/archive/entry.js';
import { computeTarLayout, tarHeader } from '../../../server/domain/archive/tar-layout.js';
import { streamTarRange } from '../../../server/domain/archive/tar-stream.js';
import { hasTool, python, run, tempDir, writeSparse, zeroStream } from '../../helpers/archive/helpers.js';

const GIB8 = 8 * 1024 ** 3;

describe('domain/archive tar over 8 GiB (R-FILE-4)', function () {
  this.timeout(30_000);
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const before_ = Buffer.from('before\n');
  const after_ = Buffer.from('after the 8 GiB file\n');
  // 8 GiB exactly no longer fits 11 octal digits: pax size record + GNU base-256 size field.
  const entries: ArchiveEntry[] = [
    { name: 'before.txt', size: before_.length, crc32: 0, mtime: 1_700_000_000 },
    { name: 'große Datei.bin', size: GIB8 + 1, crc32: 0, mtime: 1_700_000_000 },
    { name: 'after.txt', size: after_.length, crc32: 0, mtime: 1_700_000_000 },
  ];
  const content = [before_, null, after_];
  const openData: OpenData = async (i, s, e) => {
    const c = content[i];
    return c ? Readable.from([c.subarray(s, e + 1)]) : zeroStream(e - s + 1);
  };
  const layout = computeTarLayout(entries);
  const path = tmp.file('big.tar');

  before(async () => {
    const dataStart = layout.offsets[1] + layout.headerLengths[1];
    await writeSparse(path, layout.totalSize, [[dataStart, dataStart + GIB8 + 1]], (a, b) =>
      streamTarRange(layout, a, b, openData),
    );
  });

  it('R-FILE-5 sizes ≥ 8 GiB: pax size record and GNU base-256 size field, consistently', () => {
    const h = tarHeader(layout, 1);
    expect(h.length).to.equal(512 * 3);
    expect(h.subarray(512, 1024).toString()).to.contain('19 size=8589934593\n');
    expect(h.subarray(512, 1024).toString()).to.contain(' path=große Datei.bin\n');
    const size = h.subarray(1024 + 124, 1024 + 136);
    expect(size[0]).to.equal(0x80);
    expect(Number(size.readBigUInt64BE(4))).to.equal(GIB8 + 1);
  });

  it('R-FILE-4 Python tarfile reads the size and the entry after 8 GiB', () => {
    const r = python(
      'import sys,tarfile\nt=tarfile.open(sys.argv[1])\nms=t.getmembers()\n' +
        'print([(m.name,m.size) for m in ms])\nprint(t.extractfile(ms[2]).read().decode(), end="")',
      [path],
    );
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal(
      `[('before.txt', 7), ('große Datei.bin', ${GIB8 + 1}), ('after.txt', ${after_.length})]\n${after_}`,
    );
  });

  it('R-FILE-4 GNU tar and bsdtar list the 8 GiB size and extract the entry after it (skipped when absent)', function () {
    const tools = ['tar', 'bsdtar'].filter(hasTool);
    if (tools.length === 0) return this.skip(); // neither tar nor bsdtar installed
    for (const tool of tools) {
      const l = run(tool, tool === 'tar' ? ['--quoting-style=literal', '-tvf', path] : ['-tvf', path]);
      expect(l.status, l.stderr).to.equal(0);
      expect(l.stderr, tool).to.equal('');
      expect(l.stdout).to.match(new RegExp(`${GIB8 + 1} .*große Datei\\.bin`));
      const x = run(tool, ['-xOf', path, 'after.txt']);
      expect(x.stdout, tool).to.equal(after_.toString());
    }
  });

  it('R-FILE-4 7-Zip lists the 8 GiB entry (skipped when absent)', function () {
    if (!hasTool('7z')) return this.skip(); // 7z not installed
    const l = run('7z', ['l', '-slt', '-ba', path]);
    expect(l.stdout).to.match(new RegExp(`Path = große Datei\\.bin\\nFolder = -\\nSize = ${GIB8 + 1}`));
  });
});
