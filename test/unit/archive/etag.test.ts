import { expect } from 'chai';
import type { ArchiveEntry } from '../../../server/domain/archive/entry.js';
import { archiveEtag } from '../../../server/domain/archive/etag.js';
import { computeTarLayout } from '../../../server/domain/archive/tar-layout.js';
import { computeZipLayout } from '../../../server/domain/archive/zip-layout.js';
import { streamZip } from '../../../server/domain/archive/zip-stream.js';
import { collect, entriesOf, memorySource } from '../../helpers/archive/helpers.js';

const base: ArchiveEntry[] = [
  { name: 'a.txt', size: 3, crc32: 1, mtime: 100 },
  { name: 'ü/b.bin', size: 5, crc32: 2, mtime: 200, mode: 0o100755 },
];
const zip = (entries: ArchiveEntry[]) => archiveEtag(computeZipLayout(entries, { zip64: 'always' }));

describe('domain/archive ETag and determinism (R-FILE-3)', () => {
  it('R-FILE-3 ETag is a quoted strong validator, stable for the same input', () => {
    const tag = zip(base);
    expect(tag).to.match(/^"[A-Za-z0-9_-]{43}"$/);
    expect(zip(base.map((x) => ({ ...x })))).to.equal(tag);
  });

  it('R-FILE-3 ETag changes when any name, size, crc, mtime, mode, the order or the kind changes', () => {
    const tag = zip(base);
    const variants: ArchiveEntry[][] = [
      [{ ...base[0], name: 'a.txT' }, base[1]],
      [{ ...base[0], size: 4 }, base[1]],
      [{ ...base[0], crc32: 9 }, base[1]],
      [{ ...base[0], mtime: 101 }, base[1]],
      [{ ...base[0], mode: 0o100600 }, base[1]],
      [base[1], base[0]],
      [base[0]],
      // Field boundaries can't be shifted to produce the same hash input (name length is prefixed).
      [
        { ...base[0], name: 'a.txt 3' },
        { ...base[1], name: 'b' },
      ],
    ];
    const tags = new Set([tag, ...variants.map(zip)]);
    expect(tags.size).to.equal(variants.length + 1);
    const kinds = new Set([
      tag,
      archiveEtag(computeZipLayout(base, { zip64: 'never' })),
      archiveEtag(computeTarLayout(base)),
    ]);
    expect(kinds.size).to.equal(3);
  });

  it('R-FILE-3 the same request gives byte-identical archives (independent of process TZ)', async () => {
    const files = [
      { name: 'x/1.txt', data: Buffer.from('one'), mtime: 1_000_000_000 },
      { name: 'ä.bin', data: Buffer.alloc(70_000, 3), mtime: 1_600_000_000 },
    ];
    const layout = computeZipLayout(entriesOf(files), { zip64: 'always' });
    const a = await collect(streamZip(layout, memorySource(files)));
    const tz = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati';
    try {
      const b = await collect(
        streamZip(computeZipLayout(entriesOf(files), { zip64: 'always' }), memorySource(files, 7)),
      );
      expect(b.equals(a)).to.equal(true);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});
