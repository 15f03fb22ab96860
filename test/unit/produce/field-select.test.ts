import { expect } from 'chai';
import { flattenFields, ObjectShaper, objectJson, parseFieldPath } from '../../../server/domain/produce/index.js';
import { makeObject } from './helpers.js';

describe('produce/field-select', () => {
  it('R-DATA-4 parses field paths: <objecttype>.<field>[.<sub>…] or a system attribute', () => {
    expect(parseFieldPath('_id')).to.deep.equal({ kind: 'system', attribute: '_id' });
    expect(parseFieldPath('photo.meta.width')).to.deep.equal({
      kind: 'field',
      objecttype: 'photo',
      segments: ['meta', 'width'],
    });
    for (const bad of ['photo', 'Photo.title', 'photo..x', 'photo.', '.title', '', '_other', '9x.y']) {
      expect(parseFieldPath(bad), bad).to.equal(null);
    }
    expect(() => new ObjectShaper({ fields: { photo: {} } })).to.throw(RangeError);
  });

  it('R-DATA-4 without fields exports system attributes then every data field', () => {
    const shaped = new ObjectShaper().shape(makeObject(1, { b: 1, a: { c: 2 }, _version: 'spoof' }));
    expect(shaped.fields).to.deep.equal({
      _version: 1,
      _created_at: '2026-01-01T00:00:00Z',
      _changed_at: '2026-01-02T00:00:00Z',
      b: 1,
      a: { c: 2 },
    });
  });

  it('R-DATA-4 fields select per object type; other types keep only the identity', () => {
    const shaper = new ObjectShaper({ fields: { 'photo.title': {}, 'video.length': { display_name: 'Length' } } });
    expect(shaper.shape(makeObject(1, { title: 'T', length: 9 })).fields).to.deep.equal({ title: 'T' });
    expect(shaper.shape(makeObject(2, { title: 'T', length: 9 }, 'video')).fields).to.deep.equal({ Length: 9 });
    expect(shaper.shape(makeObject(3, { title: 'T' }, 'audio')).fields).to.deep.equal({});
  });

  it('R-DATA-4 sub-field selection through arrays keeps elements aligned', () => {
    const data = { people: [{ name: 'Ann', age: 3, x: 1 }, { age: 4 }, { name: 'Cy' }, 'scalar'] };
    const shaper = new ObjectShaper({ fields: { 'photo.people.name': {}, 'photo.people.age': {} } });
    expect(shaper.shape(makeObject(1, data)).fields).to.deep.equal({
      people: [{ name: 'Ann', age: 3 }, { age: 4 }, { name: 'Cy' }],
    });
    const named = new ObjectShaper({ fields: { 'photo.people.name': { display_name: 'Names' } } });
    expect(named.shape(makeObject(1, data)).fields).to.deep.equal({ Names: ['Ann', 'Cy'] });
  });

  it('R-DATA-4 missing selected fields are simply absent', () => {
    const shaper = new ObjectShaper({ fields: { 'photo.meta.width': {}, 'photo.gone': { display_name: 'G' } } });
    expect(shaper.shape(makeObject(1, { meta: 'not an object' })).fields).to.deep.equal({});
  });

  it('R-DATA-4 display_name renames identity and system attributes in every format', () => {
    const shaper = new ObjectShaper({
      fields: { _id: { display_name: 'ID' }, _objecttype: { display_name: 'Type' }, _version: { display_name: 'V' } },
    });
    const shaped = shaper.shape(makeObject(4, { title: 'x' }));
    expect(JSON.parse(objectJson(shaped))).to.deep.equal({ ID: 4, Type: 'photo', V: 1 });
  });

  it('R-DATA-4 a data field cannot overwrite a system attribute through display_name', () => {
    const shaper = new ObjectShaper({ fields: { 'photo.title': { display_name: '_id' } } });
    expect(JSON.parse(objectJson(shaper.shape(makeObject(4, { title: 'x' }))))).to.deep.equal({
      _id: 4,
      _objecttype: 'photo',
    });
  });

  it('R-OUT-2 eas_fields paths inside repeated groups get _path; the input is not mutated', () => {
    const data = { versions: [{ file: [{ _id: 1 }] }, { file: [{ _id: 2 }, { _id: 'bad' }] }] };
    const shaper = new ObjectShaper({ eas_fields: { 'photo.versions.file': { files: true } } });
    const object = makeObject(9, data);
    expect(shaper.assetRefs(object)).to.deep.equal([
      { field: 'versions.file', assetId: 1 },
      { field: 'versions.file', assetId: 2 },
    ]);
    const shaped = shaper.shape(object, (_o, field, id) => `files/photo/${field}/${id}`);
    expect(shaped.fields.versions).to.deep.equal([
      { file: [{ _id: 1, _path: 'files/photo/versions.file/1' }] },
      { file: [{ _id: 2, _path: 'files/photo/versions.file/2' }, { _id: 'bad' }] },
    ]);
    expect(data.versions[0].file[0]).to.deep.equal({ _id: 1 });
  });

  it('exports a data key named __proto__ as a plain field', () => {
    const data = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const shaped = new ObjectShaper().shape(makeObject(1, data));
    const parsed = JSON.parse(objectJson(shaped));
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).to.deep.equal({ polluted: true });
    expect(flattenFields(shaped.fields).get('__proto__.polluted')).to.equal('true');
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});
