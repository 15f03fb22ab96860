import { expect } from 'chai';
import fc from 'fast-check';
import {
  fileNameFromText,
  MAX_COMPONENT_BYTES,
  MAX_NAME_BYTES,
  stripBidi,
  truncateUtf8,
  withSuffix,
} from '../../server/domain/file-names.js';
import { archiveStem as downloadStem, zipDownloadName } from '../../server/domain/packaging/packaging.js';
import { partPath } from '../../server/domain/transports/layout.js';
import { fileDownloadName } from '../../server/domain/files/selection.js';
import { contentDisposition } from '../../server/http/serve-representation.js';
import { runs } from '../helpers/thorough.js';
import { anyText } from '../helpers/text-arbitraries.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BIDI = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;

describe('file-names: one rule for generated names (issue 9, finding 6)', () => {
  it('cuts by grapheme clusters: a family emoji, a flag or an accented letter is never split', () => {
    const family = '👨‍👩‍👧'; // 18 bytes, 5 code points
    expect(truncateUtf8(`${family}${family}`, 30)).to.equal(family);
    expect(truncateUtf8('🇩🇪🇩🇪', 12)).to.equal('🇩🇪');
    expect(truncateUtf8('e\u0301e\u0301', 4)).to.equal('e\u0301');
    // A single cluster bigger than the room is cut by code points rather than dropped.
    expect(truncateUtf8(`a${'\u0301'.repeat(300)}`, 11)).to.equal(`a${'\u0301'.repeat(5)}`);
  });

  it('removes every bidi control, U+202E and U+061C included', () => {
    expect(stripBidi('evil\u202Egpj.exe')).to.equal('evilgpj.exe');
    expect(fileNameFromText('a\u061Cb\u2066c\u2069\u200Ed\u200F')).to.equal('abcd');
  });

  it('withSuffix fits 255 bytes and keeps two long names apart', () => {
    const a = `${'😀'.repeat(80)}a`;
    const b = `${'😀'.repeat(80)}b`;
    expect(bytes(withSuffix(a, '.part'))).to.be.at.most(MAX_COMPONENT_BYTES);
    expect(withSuffix(a, '.part')).to.not.equal(withSuffix(b, '.part'));
    expect(withSuffix('short', '.part')).to.equal('short.part');
    const p = partPath(`dir/${'x'.repeat(MAX_NAME_BYTES)}`);
    expect(bytes(p.split('/')[1]!)).to.be.at.most(MAX_COMPONENT_BYTES);
    expect(p.startsWith('dir/.')).to.equal(true);
    expect(p.endsWith('.part')).to.equal(true);
  });

  it('download and archive names of a 255-character emoji export name fit 255 bytes with every suffix, cut between characters', () => {
    const name = '😀'.repeat(127) + 'x';
    const stem = downloadStem(name, 7);
    expect(LONE_SURROGATE.test(stem)).to.equal(false);
    expect(bytes(`${stem}.999999.zip`)).to.be.at.most(MAX_NAME_BYTES);
    const zip = zipDownloadName(name, 7, 'folder', undefined);
    expect(zip.endsWith('.zip')).to.equal(true);
    expect(bytes(zip)).to.be.at.most(MAX_NAME_BYTES);
    expect(LONE_SURROGATE.test(zip)).to.equal(false);
    const requested = fileDownloadName('objects.csv', '😀'.repeat(200));
    expect(requested.endsWith('.csv')).to.equal(true);
    expect(bytes(requested)).to.be.at.most(MAX_NAME_BYTES);
    expect(downloadStem('report\u202Efdp.exe', 1)).to.equal('reportfdp.exe');
  });

  it('Content-Disposition never throws and never carries a bidi control, whatever the name', () => {
    expect(() => contentDisposition('attachment', 'a\uD83D.zip')).not.to.throw();
    expect(contentDisposition('attachment', 'a\u202Eb.zip')).to.equal(`attachment; filename="ab.zip"; filename*=UTF-8''ab.zip`);
  });

  it('for any text: names fit with their extension, are well-formed and hold no bidi control (property)', () => {
    fc.assert(
      fc.property(anyText(400), fc.constantFrom('', '.zip', '.999999.zip', '.tar.gz'), (text, ext) => {
        const name = fileNameFromText(text, ext);
        expect(bytes(name + ext)).to.be.at.most(MAX_NAME_BYTES);
        expect(LONE_SURROGATE.test(name)).to.equal(false);
        expect(BIDI.test(name)).to.equal(false);
        expect(name).to.not.match(/[\u0000-\u001f/\\]/);
        expect(() => contentDisposition('attachment', text)).not.to.throw();
        const stem = downloadStem(text, 3);
        expect(bytes(`${stem}.999999.zip`)).to.be.at.most(MAX_NAME_BYTES);
        expect(BIDI.test(stem) || LONE_SURROGATE.test(stem)).to.equal(false);
      }),
      { numRuns: runs(200) },
    );
  });
});
