import type { Writable } from 'node:stream';
import { expect } from 'chai';
import { XMLValidator } from 'fast-xml-parser';
import {
  isPlainElementName,
  ObjectShaper,
  removeInvalidXmlChars,
  XmlPerObjectWriter,
} from '../../../server/domain/produce/index.js';
import { MemoryWritable, makeObject, parseXml, produceXml } from './helpers.js';

const SYSTEM = { _version: 1, _created_at: '2026-01-01T00:00:00Z', _changed_at: '2026-01-02T00:00:00Z' };

describe('produce/xml-writer', () => {
  it('R-OUT-3 XML is well-formed with one <objects> root and round-trips every JSON type', async () => {
    const data = {
      title: '<b>bold</b> & "quoted" \'single\' ]]> CR\rCRLF\r\nLF\n tab\t 😀 Ünïcödé 中文',
      spaced: '  keep my spaces  ',
      empty: '',
      n: -1.25,
      big: 12345678901234,
      yes: true,
      nothing: null,
      meta: { width: 640, inner: {} },
      tags: ['a', 'b'],
      one: ['only'],
      none: [],
      nested: [[1, 2], [], [{ x: 'y' }]],
    };
    const { text } = await produceXml([makeObject(1, data), makeObject(2, {}, 'video')]);
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<objects>\n')).to.equal(true);
    const objects = parseXml(text);
    expect(objects.map((o) => [o.id, o.objecttype])).to.deep.equal([
      ['1', 'photo'],
      ['2', 'video'],
    ]);
    expect(objects[0].fields).to.deep.equal({ ...SYSTEM, ...data });
    expect(objects[1].fields).to.deep.equal(SYSTEM);
  });

  it('R-OUT-3 XML removes characters invalid in XML 1.0 and the document still parses', async () => {
    const dirty = 'a\u0000b\u0001c\u0008d\u000Be\u000Cf\u001Fg\uFFFEh\uFFFFi\uD800j\uDFFFk 😀 \t';
    const { text } = await produceXml([makeObject(1, { 'bad\u0001key': dirty, ok: dirty })]);
    expect(XMLValidator.validate(text)).to.equal(true);
    const [object] = parseXml(text);
    expect(object.fields.ok).to.equal('abcdefghijk 😀 \t');
    expect(object.fields.badkey).to.equal('abcdefghijk 😀 \t');
    expect(removeInvalidXmlChars('x\uD83D\uDE00y')).to.equal('x😀y');
  });

  it('R-OUT-3 keys that are not XML names are written as <field name="...">', async () => {
    const data = {
      'with space': 1,
      '1starts-with-digit': 2,
      'a:colon': 3,
      xmlReserved: 4,
      field: 5,
      '': 6,
      ünïcödé: 7,
      'a<b>&"c': 8,
      __proto__x: 9,
    };
    const { text } = await produceXml([makeObject(1, data)]);
    expect(text).to.include('<field name="with space" type="number">1</field>');
    expect(text).to.include('<ünïcödé type="number">7</ünïcödé>');
    expect(parseXml(text)[0].fields).to.deep.equal({ ...SYSTEM, ...data });
    expect(isPlainElementName('_id')).to.equal(true);
    expect(isPlainElementName('meta.width')).to.equal(true);
    expect(isPlainElementName('\u00AAordinal')).to.equal(false);
  });

  it('R-OUT-3 a name with a Unicode space XML allows (U+1680, U+2000) is written as <field name>, which parsers read', async () => {
    const data = { '\u1680': 'ogham', 'a\u2000b': 'en quad' };
    const { text } = await produceXml([makeObject(1, data)]);
    expect(XMLValidator.validate(text)).to.equal(true);
    expect(parseXml(text)[0].fields).to.deep.equal({ ...SYSTEM, ...data });
  });

  it('R-OUT-3 empty XML export is a valid document with an empty root', async () => {
    const { text } = await produceXml([]);
    expect(XMLValidator.validate(text)).to.equal(true);
    expect(parseXml(text)).to.deep.equal([]);
  });

  it('R-OUT-2 XML asset references carry a _path element', async () => {
    const { text } = await produceXml([makeObject(3, { image: [{ _id: 7 }] })], {
      eas_fields: { 'photo.image': { files: true } },
      assetPaths: () => 'files/photo/image/7-a & b.jpg',
    });
    expect(parseXml(text)[0].fields.image).to.deep.equal([{ _id: 7, _path: 'files/photo/image/7-a & b.jpg' }]);
  });

  it('R-DATA-4 XML with fields and display_name', async () => {
    const { text } = await produceXml([makeObject(1, { title: 'T', secret: 's' })], {
      fields: { 'photo.title': { display_name: 'Photo title' }, _version: { display_name: 'Version' } },
    });
    expect(parseXml(text)[0].fields).to.deep.equal({ Version: 1, 'Photo title': 'T' });
  });

  it('R-OUT-1 one XML file per object at xml/<objecttype>/<_id>.xml with root <object>', async () => {
    const files = new Map<string, MemoryWritable>();
    const open = (path: string): Writable => {
      const out = new MemoryWritable();
      files.set(path, out);
      return out;
    };
    const shaper = new ObjectShaper();
    const writer = new XmlPerObjectWriter(open);
    await writer.write([makeObject(4, { t: 'x' }), makeObject(9, { t: 'y' }, 'video')].map((o) => shaper.shape(o)));
    await writer.end();
    expect([...files.keys()]).to.deep.equal(['xml/photo/4.xml', 'xml/video/9.xml']);
    const [object] = parseXml(files.get('xml/video/9.xml')!.text, 'object');
    expect(object).to.deep.equal({ id: '9', objecttype: 'video', fields: { ...SYSTEM, t: 'y' } });
  });

  it('R-ENG-6 XML writer respects backpressure', async () => {
    const objects = Array.from({ length: 1500 }, (_, i) => makeObject(i + 1, { s: 'z'.repeat(100) }));
    const { text, out } = await produceXml(objects, { slow: true, batchSize: 100 });
    expect(out.drains).to.be.greaterThan(0);
    expect(parseXml(text)).to.have.length(1500);
  });
});
