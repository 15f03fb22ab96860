import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../helpers/app.js';

async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

describe('objects, assets and search API (R-DATA)', () => {
  let app: TestApp;
  let token: string;
  let otherToken: string;
  const put = (type: string, body: unknown, t = token) => app.request.put(`/api/v1/db/${type}`).query({ token: t }).send(body as object);

  before(async () => {
    app = await startTestApp({ env: { UPLOAD_LIMIT: '4096' } });
    token = (await app.login('alice')).token;
    otherToken = (await app.login('bob')).token;
  });
  after(async () => app.close());

  describe('objects (R-DATA-1)', () => {
    it('R-DATA-1 creates objects in bulk with ids, versions and timestamps, and reads one back', async () => {
      const res = await put('photo', [
        { _objecttype: 'photo', photo: { title: 'Sunset', tags: ['a', 'b'], meta: { width: 3, ok: true } } },
        { _objecttype: 'photo', photo: { title: 'Dawn', taken: '2026-11-22T10:00:00Z', _created_at: 'ignored' } },
      ]).expect(200);
      expect(res.body).to.have.length(2);
      const [a, b] = res.body.map((o: { photo: Record<string, unknown> }) => o.photo);
      expect(a).to.include({ _version: 1, title: 'Sunset' });
      expect(a._id).to.be.a('number');
      expect(b._id).to.equal(a._id + 1);
      expect(Date.parse(a._created_at)).to.be.closeTo(Date.now(), 60_000);
      expect(a._changed_at).to.equal(a._created_at);
      expect(b._created_at).to.not.equal('ignored');
      const got = await app.request.get(`/api/v1/db/photo/${a._id}`).query({ token }).expect(200);
      expect(got.body).to.deep.equal({ _objecttype: 'photo', photo: { ...a } });
    });

    it('R-DATA-1 updates need _version = current + 1, else 400 error.user.version_conflict', async () => {
      const [created] = (await put('photo', [{ _objecttype: 'photo', photo: { title: 'v1' } }]).expect(200)).body;
      const id = created.photo._id;
      const conflict = await put('photo', [{ _objecttype: 'photo', photo: { _id: id, _version: 1, title: 'x' } }]).expect(400);
      expect(conflict.body.code).to.equal('error.user.version_conflict');
      const missing = await put('photo', [{ _objecttype: 'photo', photo: { _id: id, title: 'x' } }]).expect(400);
      expect(missing.body.code).to.equal('error.api.attribute_expected');
      const ok = await put('photo', [{ _objecttype: 'photo', photo: { _id: id, _version: 2, title: 'v2' } }]).expect(200);
      expect(ok.body[0].photo).to.include({ _id: id, _version: 2, title: 'v2' });
      expect(Date.parse(ok.body[0].photo._changed_at)).to.be.at.least(Date.parse(ok.body[0].photo._created_at));
      // One transaction: a failing item rolls back the creates before it.
      const before = Number((await app.db('objects').count({ n: '*' }))[0].n);
      await put('photo', [
        { _objecttype: 'photo', photo: { title: 'rolled back' } },
        { _objecttype: 'photo', photo: { _id: id, _version: 9, title: 'x' } },
      ]).expect(400);
      expect(Number((await app.db('objects').count({ n: '*' }))[0].n)).to.equal(before);
    });

    it("R-DATA-1 R-AUTH-6 another user's object is a 404 for get, update and delete", async () => {
      const [created] = (await put('photo', [{ _objecttype: 'photo', photo: { title: 'mine' } }]).expect(200)).body;
      const id = created.photo._id;
      const get = await app.request.get(`/api/v1/db/photo/${id}`).query({ token: otherToken }).expect(404);
      expect(get.body).to.deep.include({ code: 'error.user.not_found' });
      await put('photo', [{ _objecttype: 'photo', photo: { _id: id, _version: 2, title: 'stolen' } }], otherToken).expect(404);
      await app.request.delete(`/api/v1/db/photo/${id}`).query({ token: otherToken }).expect(404);
      // Same owner, other object type: not found either.
      await app.request.get(`/api/v1/db/author/${id}`).query({ token }).expect(404);
      await app.request.get(`/api/v1/db/photo/${id}`).expect(403);
      expect((await app.request.get(`/api/v1/db/photo/${id}`).query({ token }).expect(200)).body.photo.title).to.equal('mine');
    });

    it('R-DATA-1 delete removes the object and writes a tombstone', async () => {
      const [created] = (await put('author', [{ _objecttype: 'author', author: { name: 'Ada' } }]).expect(200)).body;
      const id = created.author._id;
      await app.request.delete(`/api/v1/db/author/${id}`).query({ token }).expect(200);
      await app.request.get(`/api/v1/db/author/${id}`).query({ token }).expect(404);
      await app.request.delete(`/api/v1/db/author/${id}`).query({ token }).expect(404);
      const stones = await app.db('object_tombstones').where({ object_id: id });
      expect(stones).to.have.length(1);
      expect(stones[0]).to.include({ objecttype: 'author' });
    });

    it('R-DATA-1 validates object types, field names, body shape and size', async () => {
      const codeOf = async (type: string, body: unknown) => (await put(type, body).expect(400)).body;
      expect((await codeOf('Photo', [])).code).to.equal('error.api.invalid_value');
      expect((await codeOf('photo', { _objecttype: 'photo' })).code).to.equal('error.api.type_mismatch');
      expect((await codeOf('photo', [{ _objecttype: 'author', photo: {} }])).parameters.path).to.equal('[0]._objecttype');
      expect((await codeOf('photo', [{ _objecttype: 'photo', photo: { 'bad name': 1 } }])).parameters.path).to.equal(
        '[0].photo.bad name',
      );
      expect((await codeOf('photo', [{ _objecttype: 'photo', photo: { a: { "x'); drop table objects; --": 1 } } }])).code).to.equal(
        'error.api.invalid_value',
      );
      expect((await codeOf('photo', [{ _objecttype: 'photo', photo: { a: 'nul\u0000' } }])).parameters.path).to.equal('[0].photo.a');
      expect((await codeOf('photo', [{ _objecttype: 'photo', photo: {}, extra: 1 }])).code).to.equal('error.api.attribute_not_accepted');
      const many = Array.from({ length: 1001 }, () => ({ _objecttype: 'photo', photo: {} }));
      expect((await codeOf('photo', many)).code).to.equal('error.api.invalid_value');
      let deep: unknown = 1;
      for (let i = 0; i < 40; i++) deep = { d: deep };
      expect((await codeOf('photo', [{ _objecttype: 'photo', photo: { deep } }])).code).to.equal('error.api.invalid_value');
    });
  });

  describe('assets (R-DATA-2)', () => {
    const storageFiles = () => filesUnder(path.join(app.dataDir, 'storage', 'assets'));

    it('R-DATA-2 stores a raw upload with size, sha256, sniffed MIME type and class', async () => {
      const body = Buffer.concat([PNG_HEAD, Buffer.alloc(500, 7)]);
      const res = await app.request
        .post('/api/v1/eas/put')
        .query({ token, filename: 'C:\\fakepath\\pic.bin' })
        .set('Content-Type', 'application/octet-stream')
        .send(body)
        .expect(200);
      expect(res.body).to.deep.equal({
        _id: res.body._id,
        original_filename: 'pic.bin',
        size: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
        mime_type: 'image/png',
        class: 'image',
      });
      const got = await app.request.get(`/api/v1/eas/${res.body._id}`).query({ token }).expect(200);
      expect(got.body).to.deep.equal(res.body);
      await app.request.get(`/api/v1/eas/${res.body._id}`).query({ token: otherToken }).expect(404);
    });

    it('R-DATA-2 accepts multipart/form-data (first file part) and falls back to the extension', async () => {
      const res = await app.request
        .post('/api/v1/eas/put')
        .query({ token })
        .field('note', 'ignored')
        .attach('file', Buffer.from('plain text file\n'), 'notes.txt')
        .expect(200);
      expect(res.body).to.include({ original_filename: 'notes.txt', size: 16, mime_type: 'text/plain', class: 'office' });
      const pdf = await app.request
        .post('/api/v1/eas/put')
        .query({ token })
        .attach('file', Buffer.from('%PDF-1.7\n...'), 'report')
        .expect(200);
      expect(pdf.body).to.include({ mime_type: 'application/pdf', class: 'office' });
    });

    it('R-DATA-2 an upload over UPLOAD_LIMIT is 413 and leaves neither file nor row', async () => {
      const before = { files: (await storageFiles()).length, rows: (await app.db('assets')).length };
      const big = Buffer.alloc(5000, 1);
      const declared = await app.request
        .post('/api/v1/eas/put')
        .query({ token, filename: 'big.bin' })
        .set('Content-Type', 'application/octet-stream')
        .send(big)
        .expect(413);
      expect(declared.body.code).to.equal('error.api.payload_too_large');
      // Without Content-Length (chunked): counted while streaming.
      const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const port = (app.server.address() as { port: number }).port;
        const req = http.request(
          { port, host: '127.0.0.1', method: 'POST', path: `/api/v1/eas/put?token=${token}&filename=big.bin` },
          (res) => {
            let text = '';
            res.on('data', (c) => {
              text += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        req.write(big.subarray(0, 3000));
        setTimeout(() => req.end(big.subarray(3000)), 20);
      });
      expect(chunked.status).to.equal(413);
      const multipart = await app.request.post('/api/v1/eas/put').query({ token }).attach('file', big, 'big.bin');
      expect(multipart.status).to.equal(413);
      expect((await storageFiles()).length).to.equal(before.files);
      expect((await app.db('assets')).length).to.equal(before.rows);
    });

    it('R-DATA-2 an upload cut off mid-way leaves neither file nor row', async () => {
      const before = { files: (await storageFiles()).length, rows: (await app.db('assets')).length };
      const port = (app.server.address() as { port: number }).port;
      await new Promise<void>((resolve) => {
        const req = http.request({
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: `/api/v1/eas/put?token=${token}&filename=half.bin`,
          headers: { 'Content-Length': '4000', 'Content-Type': 'application/octet-stream' },
        });
        req.on('error', () => resolve());
        req.write(Buffer.alloc(2000, 3), () => setTimeout(() => {
          req.destroy();
          resolve();
        }, 100));
      });
      // The server notices the closed socket; give it a moment, then nothing may be left (not even a .part file).
      await new Promise((r) => setTimeout(r, 300));
      expect(await storageFiles()).to.have.length(before.files);
      expect((await app.db('assets')).length).to.equal(before.rows);
    });
  });

  describe('search (R-DATA-3)', () => {
    it("R-DATA-3 POST /api/v1/search previews the caller's objects only, with count and paging", async () => {
      await put('book', [
        { _objecttype: 'book', book: { title: 'Alpha red', n: 1 } },
        { _objecttype: 'book', book: { title: 'Beta red', n: 2 } },
        { _objecttype: 'book', book: { title: 'Gamma blue', n: 3 } },
      ]).expect(200);
      await put('book', [{ _objecttype: 'book', book: { title: 'Bob red', n: 4 } }], otherToken).expect(200);
      const res = await app.request
        .post('/api/v1/search')
        .query({ token })
        .send({
          objecttypes: ['book'],
          search: [{ type: 'match', fields: ['book.title'], string: 'red', mode: 'fulltext' }],
          sort: [{ field: 'book.n', order: 'DESC' }],
          limit: 1,
        })
        .expect(200);
      expect(res.body).to.include({ count: 2, offset: 0, limit: 1 });
      expect(res.body.objects).to.have.length(1);
      expect(res.body.objects[0]).to.deep.include({ _objecttype: 'book' });
      expect(res.body.objects[0].book).to.include({ title: 'Beta red', n: 2, _version: 1 });
      const all = await app.request.post('/api/v1/search').query({ token: otherToken }).send({ objecttypes: ['book'] }).expect(200);
      expect(all.body.count).to.equal(1);
      expect(all.body.objects[0].book.title).to.equal('Bob red');
    });

    it('R-DATA-3 hostile search input is refused with 400 or harmless', async () => {
      const bad = await app.request
        .post('/api/v1/search')
        .query({ token })
        .send({ objecttypes: ['book'], search: [{ type: 'in', fields: ["book.title'); drop table objects;--"], in: ['x'] }] })
        .expect(400);
      expect(bad.body.parameters.path).to.equal('search.search[0].fields[0]');
      const harmless = await app.request
        .post('/api/v1/search')
        .query({ token })
        .send({ objecttypes: ['book'], search: [{ type: 'in', fields: ['book.title'], in: ["'; drop table objects; --"] }] })
        .expect(200);
      expect(harmless.body.count).to.equal(0);
      const huge = Array.from({ length: 5000 }, (_, i) => i);
      await app.request
        .post('/api/v1/search')
        .query({ token })
        .send({ search: [{ type: 'in', fields: ['book.n'], in: huge }] })
        .expect(400);
      await app.request.post('/api/v1/search').send({}).expect(403);
      expect(Number((await app.db('objects').count({ n: '*' }))[0].n)).to.be.greaterThan(0);
    });
  });
});
