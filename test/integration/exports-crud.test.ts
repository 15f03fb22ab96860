import { expect } from 'chai';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe('exports CRUD (R-EXP)', () => {
  let app: TestApp;
  let token: string;
  let otherToken: string;
  const put = (body: unknown, t = token) => app.request.put('/api/v1/export').query({ token: t }).send(body as object);
  const get = (id: number, t = token) => app.request.get(`/api/v1/export/${id}`).query({ token: t });

  before(async () => {
    app = await startTestApp();
    token = (await app.login('owner')).token;
    otherToken = (await app.login('intruder')).token;
  });
  after(async () => app.close());

  it('R-EXP-3 creates an export queued at once, with a default name, a passkey and EXPORT_INSERT', async () => {
    const r = await put({ export: { json: true, custom_data: [{ key: 'k', value: 'v' }] } }).expect(200);
    const id = r.body.export._id;
    expect(r.body._basetype).to.equal('export');
    expect(r.body._state).to.equal('pending');
    expect(r.body.export.name).to.equal(`export-export-${id}`);
    expect(r.body.export._version).to.equal(1);
    expect(r.body.export.custom_data).to.deep.equal([{ key: 'k', value: 'v' }]);
    expect(r.body._log.map((e: { type: string }) => e.type)).to.deep.equal(['EXPORT_INSERT']);
    const row = await app.db('exports').where({ id }).first();
    expect(row.passkey).to.have.length(32);
    expect(JSON.stringify(r.body)).not.to.include(row.passkey);
    expect(await app.db('runs').where({ export_id: id }).count({ n: '*' })).to.deep.equal([{ n: 1 }]);
  });

  it('R-EXP-3 waits with state new when the export has schedules, and ignores read-only attributes', async () => {
    const r = await put({
      _state: 'done',
      _files: [{ path: 'x' }],
      _schedules: [{ hours: [3], minutes: [0] }],
      export: { _id: 999, name: 'Nightly', type: 'export_incremental' },
    }).expect(200);
    expect(r.body._state).to.equal('new');
    expect(r.body.export._id).not.to.equal(999);
    expect(r.body._files).to.deep.equal([]);
    expect(r.body._schedules).to.have.length(1);
  });

  it('R-EXP-4 requires a name for a scheduled export (create and update)', async () => {
    const r = await put({ _schedules: [{ hours: [1] }], export: {} }).expect(400);
    expect(r.body.code).to.equal('error.user.export_name_required');
    const created = (await put({ export: {} }).expect(200)).body;
    const u = await app.request
      .post(`/api/v1/export/${created.export._id}`)
      .query({ token })
      .send({ export: {}, _schedules: [{ hours: [1] }] })
      .expect(400);
    expect(u.body.code).to.equal('error.user.export_name_required');
  });

  it('R-EXP-4 updates only the given attributes, bumps _version and checks export._version', async () => {
    const created = (await put({ export: { name: 'A', csv: true, json: false } }).expect(200)).body;
    const id = created.export._id;
    const u = await app.request.post(`/api/v1/export/${id}`).query({ token }).send({ export: { xml: true } }).expect(200);
    expect(u.body.export).to.include({ name: 'A', csv: true, json: false, xml: true, _version: 2 });
    expect(u.body._state).to.equal('new');
    const conflict = await app.request.post(`/api/v1/export/${id}`).query({ token }).send({ export: { _version: 2, xml: false } });
    expect(conflict.status).to.equal(400);
    expect(conflict.body.code).to.equal('error.user.version_conflict');
    await app.request.post(`/api/v1/export/${id}`).query({ token }).send({ export: { _version: 3, xml: false } }).expect(200);
    const started = await app.request.post(`/api/v1/export/${id}`).query({ token, start: '1' }).send({ export: {} }).expect(200);
    expect(started.body._state).to.equal('pending');
    expect(started.body._log.map((e: { type: string }) => e.type)).to.include('EXPORT_UPDATE');
  });

  it('R-EXP-4 an update of a pending export cancels the active run and leaves the export new', async () => {
    const created = (await put({ export: { name: 'busy' } }).expect(200)).body;
    const id = created.export._id;
    expect(created._state).to.equal('pending');
    const u = await app.request.post(`/api/v1/export/${id}`).query({ token }).send({ export: { csv: true } }).expect(200);
    expect(u.body._state).to.equal('new');
    const runs = await app.db('runs').where({ export_id: id });
    expect(runs.map((r) => r.state)).to.deep.equal(['failed']);
  });

  it('R-EXP-6 two concurrent starts yield exactly one run', async () => {
    const created = (await put({ _schedules: [{ hours: [2] }], export: { name: 'race' } }).expect(200)).body;
    const id = created.export._id;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => app.request.post(`/api/v1/export/${id}/start`).query({ token })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).to.deep.equal([200, 400, 400, 400, 400, 400]);
    expect(results.find((r) => r.status === 400)!.body.code).to.equal('error.user.export_already_running');
    const runs = await app.db('runs').where({ export_id: id });
    expect(runs).to.have.length(1);
  });

  it('R-EXP-7 stop of an export that is not running is 404 export_not_running; stopping a pending one fails it', async () => {
    const created = (await put({ _schedules: [{ hours: [2] }], export: { name: 'stoppable' } }).expect(200)).body;
    const id = created.export._id;
    const r = await app.request.post(`/api/v1/export/${id}/stop`).query({ token }).expect(404);
    expect(r.body.code).to.equal('error.user.export_not_running');
    await app.request.post(`/api/v1/export/${id}/start`).query({ token }).expect(200);
    const s = await app.request.post(`/api/v1/export/${id}/stop`).query({ token }).expect(200);
    expect(s.body._state).to.equal('failed');
    expect(s.body._failure_reason).to.equal('stopped by user');
    expect(s.body._log.map((e: { type: string }) => e.type)).to.include('EXPORT_STOPPED');
  });

  it('R-EXP-11 reset_status is 409 while pending and clears a failure otherwise', async () => {
    const created = (await put({ export: { name: 'reset' } }).expect(200)).body;
    const id = created.export._id;
    const busy = await app.request.post(`/api/v1/export/${id}/reset_status`).query({ token }).expect(409);
    expect(busy.body.code).to.equal('error.user.export_busy');
    await app.request.post(`/api/v1/export/${id}/stop`).query({ token }).expect(200);
    const r = await app.request.post(`/api/v1/export/${id}/reset_status`).query({ token }).expect(200);
    expect(r.body._state).to.equal('new');
    expect(r.body._failure_reason).to.equal(null);
  });

  it('R-DATA-4 keeps the order of fields as given (it is the column order of the output)', async () => {
    const fields = { 'photo.title': {}, 'photo.author': { display_name: 'By' }, _id: {}, 'photo.meta.width': {} };
    const created = (await put({ export: { name: 'ordered', fields } }).expect(200)).body;
    const r = await get(created.export._id).expect(200);
    expect(Object.keys(r.body.export.fields)).to.deep.equal(Object.keys(fields));
  });

  it('R-EXP-12 rotates the passkey', async () => {
    const created = (await put({ export: { name: 'keys' } }).expect(200)).body;
    const id = created.export._id;
    const before = (await app.db('exports').where({ id }).first()).passkey;
    await app.request.post(`/api/v1/export/${id}/passkey`).query({ token }).expect(200);
    const after = (await app.db('exports').where({ id }).first()).passkey;
    expect(after).to.have.length(32);
    expect(after).not.to.equal(before);
  });

  it('R-EXP-5 deletes an export with its runs and files', async () => {
    const created = (await put({ export: { name: 'doomed' } }).expect(200)).body;
    const id = created.export._id;
    await app.request.delete(`/api/v1/export/${id}`).query({ token }).expect(200);
    await get(id).expect(404);
    expect(await app.db('runs').where({ export_id: id })).to.have.length(0);
    await app.request.delete(`/api/v1/export/${id}`).query({ token }).expect(404);
  });

  it('R-EXP-2 returns one export with _files, _log, _schedules and _transports', async () => {
    const created = (await put({ export: { name: 'full' }, _transports: [{ type: 'download', packer: 'zip' }] }).expect(200)).body;
    const r = await get(created.export._id).expect(200);
    expect(r.body).to.include.keys('_files', '_log', '_schedules', '_transports', '_progress', '_failure_reason', '_next_run', '_last_run', '_expires_at');
    expect(r.body._last_run).to.include({ trigger: 'create', state: 'pending' });
  });

  it('R-AUTH-6 another user\'s export is a 404 on every route', async () => {
    const id = (await put({ export: { name: 'private' } }).expect(200)).body.export._id;
    const q = { token: otherToken };
    const calls = [
      app.request.get(`/api/v1/export/${id}`).query(q),
      app.request.post(`/api/v1/export/${id}`).query(q).send({ export: { csv: true } }),
      app.request.delete(`/api/v1/export/${id}`).query(q),
      app.request.post(`/api/v1/export/${id}/start`).query(q),
      app.request.post(`/api/v1/export/${id}/stop`).query(q),
      app.request.post(`/api/v1/export/${id}/reset_status`).query(q),
      app.request.post(`/api/v1/export/${id}/passkey`).query(q),
      app.request.get(`/api/v1/v1/export/${id}`).query(q),
    ];
    for (const r of await Promise.all(calls)) {
      expect(r.status).to.equal(404);
      expect(r.body).to.deep.include({ code: 'error.user.not_found', parameters: { type: 'export', id } });
    }
    const list = await app.request.get('/api/v1/export').query(q).expect(200);
    expect(list.body.objects.map((o: { export: { _id: number } }) => o.export._id)).not.to.include(id);
    await get(id).expect(200);
  });

  it('R-FILE-9 answers under the doubled /api/v1/v1 prefix', async () => {
    const r = await app.request.get('/api/v1/v1/export').query({ token }).expect(200);
    expect(r.body.count).to.be.a('number');
  });
});
