import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser } from 'fast-xml-parser';
import { DataProducer } from '../../server/domain/produce/data-producer.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

const png = (n: number) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(40 + n, n)]);
type Obj = Record<string, any>;

describe('what a run writes (R-OUT, R-DATA-4, R-ENG-6)', function () {
  this.timeout(30_000);
  // The one-pass CSV test switches its strategy between runs and reads its counters.
  const producer = new DataProducer();
  let app: TestApp;
  let token: string;
  let bobToken: string;
  let worker: Worker;
  const assets: Record<string, Obj> = {};

  const upload = async (name: string, bytes: Buffer, t = token) =>
    (await app.request.post('/api/v1/eas/put').query({ token: t, filename: name }).type('application/octet-stream').send(bytes).expect(200))
      .body;
  const save = async (type: string, items: Obj[], t = token): Promise<Obj[]> =>
    (await app.request.put(`/api/v1/db/${type}`).query({ token: t }).send(items.map((i) => ({ _objecttype: type, [type]: i }))).expect(200))
      .body.map((o: Obj) => o[type]);
  const createExport = async (exp: Obj) =>
    (await app.request.put('/api/v1/export').query({ token }).send({ export: exp }).expect(200)).body.export._id as number;
  const view = async (id: number) => (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body;
  const settled = (id: number) =>
    eventually(async () => {
      const v = await view(id);
      return v._state === 'done' || v._state === 'failed' ? v : null;
    }, 20_000);
  const root = async (id: number) => {
    const exp = await app.db('exports').where({ id }).first();
    const run = await app.db('runs').where({ id: exp.published_run_id }).first();
    return path.join(app.dataDir, 'storage', run.files_prefix);
  };
  const text = async (id: number, file: string) => readFile(path.join(await root(id), file), 'utf8');

  let photos: Obj[];
  let authors: Obj[];

  before(async () => {
    app = await startTestApp({ producers: [producer] });
    token = (await app.login('alice')).token;
    bobToken = (await app.login('bob')).token;
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 60_000 });
    worker.start();
    assets.sunset = await upload('sunset.png', png(1));
    assets.dawn = await upload('dawn.png', png(2));
    assets.same1 = await upload('same.png', png(3));
    assets.same2 = await upload('same.png', png(4));
    assets.bobs = await upload('secret.png', png(5), bobToken);
    photos = await save('photo', [
      {
        title: 'Sunset, "red" sky\nover Köln ✓',
        tags: ['sky', 'red'],
        meta: { width: 640, height: 480, ok: true },
        image: [{ _id: assets.sunset._id }, { _id: assets.dawn._id }],
      },
      { title: 'ctrl\u0001char <b>&amp;</b>', tags: [], meta: { width: 1 }, image: [{ _id: assets.bobs._id }] },
      { title: 'twins', image: [{ _id: assets.same1._id }, { _id: assets.same2._id }] },
    ]);
    authors = await save('author', [{ name: 'Ada', country: 'UK' }, { name: 'Grace', country: 'US' }]);
    await save('photo', [{ title: 'bob private', image: [{ _id: assets.bobs._id }] }], bobToken);
  });
  after(async () => {
    await worker.stop();
    await app.close();
  });

  const expected = (o: Obj, type: string) => {
    const { _id, _version, _created_at, _changed_at, ...fields } = o;
    return { _id, _objecttype: type, _version, _created_at, _changed_at, ...fields };
  };

  it("R-OUT-1 R-OUT-2 R-OUT-3 R-DATA-4 R-OUT-6 csv, json, xml and asset files parse back and match the input; others' assets never copied", async () => {
    const id = await createExport({
      name: 'all formats',
      csv: true,
      json: true,
      xml: true,
      json_one_file_per_object: true,
      xml_one_file_per_object: true,
      eas_fields: { 'photo.image': { files: true } },
    });
    const done = await settled(id);
    expect(done._state, done._failure_reason).to.equal('done');
    const paths = done._files.map((f: Obj) => f.path);
    const sunsetPath = `files/photo/image/${assets.sunset._id}-sunset.png`;
    const twin1 = `files/photo/image/${assets.same1._id}-same.png`;
    expect(paths).to.include.members(['objects.csv', 'objects.json', 'objects.xml', 'manifest.json', sunsetPath, twin1]);
    for (const o of [...photos, ...authors]) {
      const type = o.name ? 'author' : 'photo';
      expect(paths).to.include.members([`json/${type}/${o._id}.json`, `xml/${type}/${o._id}.xml`]);
    }
    expect(paths.some((p: string) => p.includes('secret'))).to.equal(false);
    const sunsetFile = done._files.find((f: Obj) => f.path === sunsetPath);
    expect(sunsetFile).to.include({ eas_id: assets.sunset._id, eas_fileclass: 'image', mime_type: 'image/png', size: png(1).length });
    expect(await readFile(path.join(await root(id), sunsetPath))).to.deep.equal(png(1));

    // JSON: the input objects, with `_path` next to each copied asset reference (R-OUT-2).
    const json = JSON.parse(await text(id, 'objects.json')) as Obj[];
    expect(json).to.have.length(5);
    const withPaths = structuredClone(photos);
    withPaths[0].image = [
      { _id: assets.sunset._id, _path: sunsetPath },
      { _id: assets.dawn._id, _path: `files/photo/image/${assets.dawn._id}-dawn.png` },
    ];
    withPaths[2].image = [
      { _id: assets.same1._id, _path: twin1 },
      { _id: assets.same2._id, _path: `files/photo/image/${assets.same2._id}-same.png` },
    ];
    expect(json).to.deep.equal([...withPaths.map((p) => expected(p, 'photo')), ...authors.map((a) => expected(a, 'author'))]);
    const perObject = JSON.parse(await text(id, `json/photo/${photos[0]._id}.json`));
    expect(perObject).to.deep.equal(json[0]);

    // CSV: header row, RFC 4180, nested values as dotted columns, arrays one line per element.
    const rows = parseCsv(await text(id, 'objects.csv'), { columns: true }) as Obj[];
    expect(rows).to.have.length(5);
    expect(rows[0]).to.include({
      _id: String(photos[0]._id),
      _objecttype: 'photo',
      title: photos[0].title,
      tags: 'sky\nred',
      'meta.width': '640',
      'meta.ok': 'true',
      'image._id': `${assets.sunset._id}\n${assets.dawn._id}`,
      'image._path': `${sunsetPath}\nfiles/photo/image/${assets.dawn._id}-dawn.png`,
    });
    expect(rows[1]['image._path']).to.equal('');
    expect(rows[3]).to.include({ _objecttype: 'author', name: 'Ada', country: 'UK', title: '' });

    // XML: well-formed, one root, invalid characters removed, markup escaped.
    const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (n) => n === 'object' || n === 'item' });
    const xml = parser.parse(await text(id, 'objects.xml'));
    expect(xml.objects.object).to.have.length(5);
    expect(xml.objects.object[1].title).to.equal('ctrlchar <b>&amp;</b>');
    expect(xml.objects.object[0]['@_id']).to.equal(String(photos[0]._id));
    expect(xml.objects.object[0].image.item[0]._path).to.equal(sunsetPath);
    const one = parser.parse(await text(id, `xml/author/${authors[0]._id}.xml`));
    expect(one.object[0].name).to.equal('Ada');

    const manifest = JSON.parse(await text(id, 'manifest.json'));
    expect(manifest.object_count).to.equal(5);
    expect(manifest.files.find((f: Obj) => f.path === sunsetPath)).to.include({ eas_id: assets.sunset._id, eas_fileclass: 'image' });
  });

  it('R-OUT-1 R-DATA-3 R-DATA-4 search, fields with display_name, flat and filename_original with collision suffixes', async () => {
    const id = await createExport({
      name: 'flat',
      json: true,
      csv: { delimiter: ';', use_bom: true },
      search: { objecttypes: ['photo'], search: [{ type: 'match', fields: ['photo.title'], string: 'twins', mode: 'token' }] },
      fields: { 'photo.title': { display_name: 'Title' }, 'photo.image': {} },
      eas_fields: { 'photo.image': { files: true } },
      flat: true,
      filename_original: true,
    });
    const done = await settled(id);
    expect(done._state, done._failure_reason).to.equal('done');
    const paths = done._files.map((f: Obj) => f.path).sort();
    expect(paths).to.deep.equal(['files/same (2).png', 'files/same.png', 'manifest.json', 'objects.csv', 'objects.json']);
    const json = JSON.parse(await text(id, 'objects.json'));
    expect(json).to.deep.equal([
      {
        _id: photos[2]._id,
        _objecttype: 'photo',
        Title: 'twins',
        image: [
          { _id: assets.same1._id, _path: 'files/same.png' },
          { _id: assets.same2._id, _path: 'files/same (2).png' },
        ],
      },
    ]);
    expect(await readFile(path.join(await root(id), 'files/same (2).png'))).to.deep.equal(png(4));
    const csv = await text(id, 'objects.csv');
    expect(csv.startsWith('\uFEFF_id;_objecttype;')).to.equal(true);
    // Column groups follow the order of `fields` as given (title before image, not alphabetical).
    const header = csv.slice(1, csv.indexOf('\r\n')).split(';');
    expect(header).to.deep.equal(['_id', '_objecttype', 'Title', 'image._id', 'image._path']);
  });

  it('R-OUT-4 incremental: first run everything, then only changes plus deleted.json; a failed run does not move the watermark', async () => {
    const exp = { name: 'incremental', type: 'export_incremental', json: true, search: { objecttypes: ['author'] } };
    const id = await createExport(exp);
    let done = await settled(id);
    expect(JSON.parse(await text(id, 'objects.json')).map((o: Obj) => o.name)).to.deep.equal(['Ada', 'Grace']);
    expect(JSON.parse(await text(id, 'deleted.json'))).to.deep.equal([]);

    const [ada2] = await save('author', [{ _id: authors[0]._id, _version: 2, name: 'Ada L.', country: 'UK' }]);
    await app.request.delete(`/api/v1/db/author/${authors[1]._id}`).query({ token }).expect(200);
    await save('photo', [{ title: 'not an author' }]);

    // A failing run (broken definition) in between must not move the watermark.
    await app.db('exports').where({ id }).update({ definition: app.db.raw(`definition::jsonb || '{"fields": {"not a path": {}}}'::jsonb`) });
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    const failed = await settled(id);
    expect(failed._state).to.equal('failed');
    expect(failed._failure_reason).to.match(/^The export's field selection is not valid/);
    await app.db('exports').where({ id }).update({ definition: app.db.raw(`definition::jsonb - 'fields'`) });

    const [cleo] = await save('author', [{ name: 'Cleo', country: 'EG' }]);
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    done = await settled(id);
    expect(done._state, done._failure_reason).to.equal('done');
    const objects = JSON.parse(await text(id, 'objects.json')) as Obj[];
    expect(objects.map((o) => [o._id, o.name])).to.deep.equal([
      [ada2._id, 'Ada L.'],
      [cleo._id, 'Cleo'],
    ]);
    const deleted = JSON.parse(await text(id, 'deleted.json'));
    expect(deleted).to.have.length(1);
    expect(deleted[0]).to.include({ _objecttype: 'author', _id: authors[1]._id });
    expect(Date.parse(deleted[0]._deleted_at)).to.be.a('number').and.not.NaN;
    const manifest = JSON.parse(await text(id, 'manifest.json'));
    expect(manifest).to.include({ object_count: 2, deleted_count: 1 });

    // Nothing changed: the next run is empty but valid.
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    await settled(id);
    expect(JSON.parse(await text(id, 'objects.json'))).to.deep.equal([]);
  });

  it('R-OUT-3 R-PERF-3 one-pass CSV is byte-identical to the two-pass CSV, and falls back when the first batch misses columns', async () => {
    const owner = (await app.db('users').where({ login: 'alice' }).first()).id;
    // jsonb keeps numbers as written (1.0, 1e21, -0): both paths must format them the same way (as JSON.parse does).
    const values = ['1.0', '1e21', '-0', '0.1', '12345678901234567890', '"  padded "', '"a;b\\n\\"c\\""', '"Köln ✓ 😀"', 'true', 'null', '""'];
    const uni = values.map((v, i) => `{"n": ${i}, "v": ${v}, "meta": {"w": ${v}, "h": 480}, "tags": ["t${i}", ${v}]}`);
    const mixed = [...uni, '{"late": {"x": [{"a": 1}, {"b": 2}]}, "n": 99}', '{"v": "filled later"}'];
    const insert = (type: string, rows: string[]) =>
      app.db.raw(
        `insert into objects (owner_id, objecttype, data) select ?, ?, d::jsonb from unnest(?::text[]) with ordinality as t(d, o) order by o`,
        [owner, type, rows],
      );
    await insert('onepass_uni', [...uni, ...uni]);
    await insert('onepass_mixed', mixed);
    const cases: [Obj, number][] = [
      [{ csv: { delimiter: ';', use_bom: true }, search: { objecttypes: ['onepass_uni'] } }, 0],
      [{ csv: { empty_columns: false }, search: { objecttypes: ['onepass_uni'] } }, 0],
      [{ csv: true, json: true, search: { objecttypes: ['onepass_mixed'] } }, 1], // strays: other formats finish first
      [{ csv: { empty_columns: false }, search: { objecttypes: ['onepass_mixed'] } }, 1], // strays: stops and restarts
    ];
    try {
      for (const [definition, strays] of cases) {
        const files: Record<string, string>[] = [];
        for (const onePass of [true, false]) {
          producer.csv.onePass = onePass;
          const before = { ...producer.csv };
          const id = await createExport({ name: `onepass ${onePass} ${files.length}`, batch_size: 4, ...definition });
          expect((await settled(id))._state).to.equal('done');
          if (onePass) {
            expect(producer.csv.strayed - before.strayed).to.equal(strays);
            expect(producer.csv.published - before.published).to.equal(1 - strays);
          }
          const out: Record<string, string> = { csv: await text(id, 'objects.csv') };
          if (definition.json) out.json = await text(id, 'objects.json');
          files.push(out);
        }
        expect(files[0]).to.deep.equal(files[1]);
        expect(files[0].csv.split('\r\n').length).to.be.greaterThan(10);
      }
    } finally {
      producer.csv.onePass = true;
    }
  });

  it('R-EXP-7 R-ENG-4 R-ENG-5 a stop during production keeps the previous files and leaves no staging debris', async () => {
    const owner = (await app.db('users').where({ login: 'alice' }).first()).id;
    await app.db.raw(
      `insert into objects (owner_id, objecttype, data)
       select ?, 'bulk', jsonb_build_object('n', g, 'label', 'row ' || g) from generate_series(1, 20000) g`,
      [owner],
    );
    const id = await createExport({ name: 'stoppable', json: true, search: { objecttypes: ['author'] } });
    const first = await settled(id);
    expect(first._state).to.equal('done');
    const firstRun = first._last_run._id;
    // Now make it slow: one file per object for 20,000 objects, 50 per batch.
    await app.request
      .post(`/api/v1/export/${id}`)
      .query({ token, start: 1 })
      .send({ export: { search: { objecttypes: ['bulk'] }, json_one_file_per_object: true, batch_size: 50 } })
      .expect(200);
    const running = await eventually(async () => {
      const v = await view(id);
      return v._state === 'processing' && v._progress?.objects_done > 0 ? v : null;
    });
    expect(running._progress.objects_total).to.equal(20000);
    expect(running._progress.percent).to.be.within(0, 99);
    await app.request.post(`/api/v1/export/${id}/stop`).query({ token }).expect(200);
    const stopped = await settled(id);
    expect(stopped._failure_reason).to.equal('stopped by user');
    await eventually(async () => worker.activeRuns.length === 0);
    const runDir = path.join(app.dataDir, 'storage', 'exports', String(id), 'runs', String(stopped._last_run._id));
    await stat(runDir).then(
      () => expect.fail(`staging folder ${runDir} left behind`),
      () => {},
    );
    expect(stopped._files.map((f: Obj) => f.path)).to.deep.equal(['objects.json', 'manifest.json']);
    const published = await app.db('exports').where({ id }).first();
    expect(published.published_run_id).to.equal(firstRun);
    expect(JSON.parse(await text(id, 'objects.json'))).to.have.length(2);
  });
});
