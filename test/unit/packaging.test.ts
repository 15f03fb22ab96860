import { expect } from 'chai';
import { archiveEtag, computeZipLayout } from '../../server/domain/archive/index.js';
import { MAX_NAME_BYTES } from '../../server/domain/file-names.js';
import {
  archiveEntries,
  archiveStem,
  deliveryPacker,
  offeredPackers,
  PACKERS,
  planArchives,
  zipArchive,
  zipDownloadName,
} from '../../server/domain/packaging/packaging.js';
import { contentDisposition } from '../../server/http/serve-representation.js';
import { HOSTILE_NAME } from '../helpers/hostile-names.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const FILES = [
  { path: 'a.txt', size: 3, crc32: 1, mtime: 1_700_000_000 },
  { path: 'b/c.bin', size: 5, crc32: 2, mtime: 1_700_000_000 },
];

describe('packaging: packers, archive names, plans and ETags in one place (issue 10)', () => {
  it('offers the packers of the download transports (zip by default, deduplicated, in order); none without one', () => {
    expect(
      offeredPackers([
        { type: 'download', packer: 'tar' },
        { type: 'directory', packer: 'zip_2gb' },
        { type: 'download' },
        { type: 'download', packer: 'tar' },
      ]),
    ).to.deep.equal(['tar', 'zip']);
    expect(offeredPackers([{ type: 'email' }])).to.deep.equal([]);
    expect(offeredPackers(null)).to.deep.equal([]);
  });

  it('packs deliveries only for transports that send files, and only with a known packer', () => {
    expect(deliveryPacker({ type: 'sftp', packer: 'zip_10mb' })).to.equal('zip_10mb');
    expect(deliveryPacker({ type: 'directory' })).to.equal(null);
    expect(deliveryPacker({ type: 'download', packer: 'zip' })).to.equal(null);
    expect(deliveryPacker({ type: 'email', packer: 'zip' })).to.equal(null);
    expect(deliveryPacker({ type: 's3', packer: 'rar' })).to.equal(null);
  });

  it('a hostile export name gives one stem: no quotes, separators or bidi controls, cut between characters, room for every suffix', () => {
    const stem = archiveStem(HOSTILE_NAME, 9);
    expect(stem).to.match(/^_Q_ a_b_c evil /);
    expect(stem).to.not.match(/["/\\\u202A-\u202E\u200F]/);
    expect(bytes(`${stem}.999999.zip`)).to.be.at.most(MAX_NAME_BYTES);
    expect(stem.endsWith('😀')).to.equal(true);
    expect(archiveStem('../..', 9)).to.equal('__');
    expect(archiveStem('\u202E', 9)).to.equal('export-9');
    expect(archiveStem('con', 9)).to.equal('_con');
  });

  it('every packer names its archives after the stem, and the zip/ default name of the whole export is the zip link name', () => {
    const stem = archiveStem(HOSTILE_NAME, 9);
    for (const packer of PACKERS) {
      for (const a of planArchives(stem, packer, FILES)) {
        expect(a.name.startsWith(stem), packer).to.equal(true);
        expect(bytes(a.name)).to.be.at.most(MAX_NAME_BYTES);
      }
    }
    expect(planArchives(stem, 'zip_10mb', FILES).map((a) => a.name)).to.deep.equal([`${stem}.1.zip`]);
    expect(planArchives(stem, 'tar_gz', FILES).map((a) => [a.name, a.size, a.etag()])).to.deep.equal([
      [`${stem}.tar.gz`, null, null],
    ]);
    expect(zipDownloadName(HOSTILE_NAME, 9, '', undefined)).to.equal(planArchives(stem, 'zip', FILES)[0].name);
    expect(bytes(zipDownloadName(HOSTILE_NAME, 9, 'b', undefined))).to.be.at.most(MAX_NAME_BYTES);
    expect(planArchives(stem, 'zip', [])).to.deep.equal([]);
  });

  it('Content-Disposition of an archive name: an ASCII fallback and an RFC 8187 filename* that decodes to the name', () => {
    const name = planArchives(archiveStem(HOSTILE_NAME, 9), 'zip', FILES)[0].name;
    const m = /^attachment; filename="([\x20-\x7e]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]*)$/.exec(
      contentDisposition('attachment', name),
    );
    expect(m, 'header shape').to.not.equal(null);
    expect(m![1]).to.not.match(/["\\]/);
    expect(decodeURIComponent(m![2])).to.equal(name);
  });

  it('one ETag scheme: a plan, the zip/ archive of the same entries and archiveEtag agree; names and bytes change it', () => {
    const zip = planArchives('x', 'zip', FILES)[0];
    const direct = archiveEtag(computeZipLayout(archiveEntries(FILES), { zip64: 'always' }));
    expect(zip.etag()).to.equal(direct);
    expect(zipArchive('other-name.zip', archiveEntries(FILES), FILES).etag()).to.equal(direct);
    const renamed = archiveEntries(FILES).map((e, i) => (i === 0 ? { ...e, name: 'z.txt' } : e));
    expect(zipArchive('x', renamed, FILES).etag()).to.not.equal(direct);
    expect(planArchives('x', 'tar', FILES)[0].etag()).to.not.equal(direct);
    expect(planArchives('x', 'zip_2gb', FILES)[0].etag()).to.not.equal(direct);
  });
});
