import { expect } from 'chai';
import fc from 'fast-check';
import {
  type AssetFile,
  AssetNamer,
  MAX_COMPONENT_BYTES,
  MAX_NAME_BYTES,
  safeNameComponent,
  splitExtension,
} from '../../../server/domain/produce/index.js';
import { runs } from '../../helpers/thorough.js';
import { anyText } from '../../helpers/text-arbitraries.js';

const file = (assetId: number, originalFilename: string, extra: Partial<AssetFile> = {}): AssetFile => ({
  objecttype: 'photo',
  field: 'image',
  objectId: 100,
  assetId,
  originalFilename,
  ...extra,
});

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** The invariants every produced component must satisfy (R-OUT-1 "every name is made safe"). */
function expectSafe(component: string): void {
  expect(component).to.not.equal('');
  expect(component).to.not.include('/');
  expect(component).to.not.include('\\');
  expect(component).to.not.include('..');
  expect(component).to.not.match(/[\x00-\x1F\x7F]/);
  expect(component.startsWith('.')).to.equal(false);
  expect(bytes(component)).to.be.at.most(MAX_COMPONENT_BYTES);
  expect(/[\uD800-\uDFFF]/u.test(component), 'lone surrogate').to.equal(false);
}

describe('produce/asset-names', () => {
  it('R-OUT-1 default layout files/<objecttype>/<field>/<asset id>-<original filename>', () => {
    const namer = new AssetNamer();
    expect(namer.name(file(7, 'Sunset.JPG'))).to.deep.equal({ path: 'files/photo/image/7-Sunset.JPG', isNew: true });
    expect(namer.name(file(8, 'x.png', { field: 'meta.scan' })).path).to.equal('files/photo/meta.scan/8-x.png');
  });

  it('R-OUT-1 flat puts files directly under files/, filename_original keeps the original name', () => {
    expect(new AssetNamer({ flat: true }).name(file(7, 'a.jpg')).path).to.equal('files/7-a.jpg');
    expect(new AssetNamer({ filename_original: true }).name(file(7, 'a.jpg')).path).to.equal('files/photo/image/a.jpg');
    expect(new AssetNamer({ flat: true, filename_original: true }).name(file(7, 'a.jpg')).path).to.equal('files/a.jpg');
  });

  it('R-OUT-1 collisions get " (2)", " (3)" before the extension; the same asset reuses its path', () => {
    const namer = new AssetNamer({ flat: true, filename_original: true });
    expect(namer.name(file(1, 'a.jpg')).path).to.equal('files/a.jpg');
    expect(namer.name(file(2, 'a.jpg')).path).to.equal('files/a (2).jpg');
    expect(namer.name(file(3, 'a (2).jpg')).path).to.equal('files/a (2) (2).jpg');
    expect(namer.name(file(4, 'a.jpg')).path).to.equal('files/a (3).jpg');
    expect(namer.name(file(5, 'README')).path).to.equal('files/README');
    expect(namer.name(file(6, 'README')).path).to.equal('files/README (2)');
    expect(namer.name(file(7, 'A.jpg')).path).to.equal('files/A.jpg');
    expect(namer.name(file(2, 'a.jpg'))).to.deep.equal({ path: 'files/a (2).jpg', isNew: false });
  });

  it('R-OUT-1 names are deterministic for the same input order', () => {
    const inputs = [file(1, 'x.jpg'), file(2, 'x.jpg'), file(1, 'x.jpg'), file(3, 'X.jpg'), file(4, 'x.jpg')];
    const run = () => {
      const namer = new AssetNamer({ filename_original: true });
      return inputs.map((f) => namer.name(f).path);
    };
    expect(run()).to.deep.equal(run());
  });

  it('R-OUT-1 filename_template placeholders', () => {
    const namer = new AssetNamer({
      filename_template: '%_export.name%_%photo.title%_%_id%.%_asset.extension%',
      exportName: 'Nightly',
    });
    const f = file(7, 'orig.jpeg', { data: { title: 'Sun/set' } });
    expect(namer.name(f).path).to.equal('files/photo/image/Nightly_Sun_set_100.jpeg');
    const plain = new AssetNamer({ flat: true, filename_template: '%photo.tags% %video.x% %unknown% 100%%' });
    expect(plain.name(file(7, 'o.png', { data: { tags: ['a', 'b'] } })).path).to.equal('files/a,b  %unknown% 100%.png');
    const original = new AssetNamer({ filename_template: '%_id%-%_asset.original_filename%' });
    expect(original.name(file(7, 'o.png')).path).to.equal('files/photo/image/100-o.png');
  });

  it('R-OUT-1 hostile original filenames are made safe', () => {
    const namer = new AssetNamer({ flat: true, filename_original: true });
    const hostile = [
      '../../etc/passwd',
      '..',
      '.',
      '...',
      'a/b',
      'a\\b\\..\\c',
      'nul\u0000byte.txt',
      'ctrl\u0001\u001F\u007F\u0085.txt',
      '.hidden',
      ' spaced .txt. ',
      'CON',
      'nul.txt',
      'evil\u202Egpj.exe',
      'lone\uD800surrogate.jpg',
      'x'.repeat(400),
      `${'ü'.repeat(300)}.jpeg`,
      `${'😀'.repeat(100)}.png`,
      '',
    ];
    const paths = hostile.map((name, i) => namer.name(file(i + 1, name)).path);
    for (const path of paths) {
      const parts = path.split('/');
      expect(parts[0]).to.equal('files');
      expect(parts).to.have.length(2);
      expectSafe(parts[1]);
    }
    expect(paths[0]).to.equal('files/__._etc_passwd');
    expect(paths[10]).to.equal('files/_CON');
    expect(paths[11]).to.equal('files/_nul.txt');
    expect(paths[12]).to.equal('files/evilgpj.exe');
    expect(paths[15].endsWith('.jpeg')).to.equal(true);
    expect(new Set(paths).size).to.equal(paths.length);
  });

  it('R-OUT-1 a long name keeps its extension and room for the collision suffix', () => {
    const namer = new AssetNamer({ flat: true, filename_original: true });
    const long = `${'a'.repeat(300)}.jpg`;
    const first = namer.name(file(1, long)).path.slice('files/'.length);
    const second = namer.name(file(2, long)).path.slice('files/'.length);
    // MAX_NAME_BYTES: 255 less room for suffixes added later (a transport's `.name.part`).
    expect(bytes(first)).to.equal(MAX_NAME_BYTES);
    expect(second.endsWith(' (2).jpg')).to.equal(true);
    expect(bytes(second)).to.equal(MAX_NAME_BYTES);
  });

  it('R-OUT-1 every generated component is safe for arbitrary input (property)', () => {
    fc.assert(
      fc.property(
        anyText(300),
        anyText(40),
        (name, field) => {
          expectSafe(safeNameComponent(name));
          const path = new AssetNamer({ filename_template: `%photo.t%${name}` }).name(
            file(1, name, { field, data: { t: name } }),
          ).path;
          const parts = path.split('/');
          expect(parts).to.have.length(4);
          parts.forEach(expectSafe);
        },
      ),
      { numRuns: runs(300) },
    );
  });

  it('splits extensions sensibly', () => {
    expect(splitExtension('a.tar.gz')).to.deep.equal({ stem: 'a.tar', ext: '.gz' });
    expect(splitExtension('.bashrc')).to.deep.equal({ stem: '.bashrc', ext: '' });
    expect(splitExtension('noext')).to.deep.equal({ stem: 'noext', ext: '' });
    expect(splitExtension('a.with space')).to.deep.equal({ stem: 'a.with space', ext: '' });
  });
});
