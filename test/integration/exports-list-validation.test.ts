import { expect } from 'chai';
import { logEvent, LOG_LIMIT } from '../../server/domain/event-log.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe('export list and validation (R-EXP-1, R-EXP-8, R-EXP-9)', () => {
  let app: TestApp;
  let token: string;
  const ids: Record<string, number> = {};
  const list = (query: Record<string, string>) => app.request.get('/api/v1/export').query({ token, ...query });
  const put = (body: unknown) => app.request.put('/api/v1/export').query({ token }).send(body as object);

  before(async () => {
    app = await startTestApp();
    token = (await app.login('lister')).token;
    // export (pending), download (pending), incremental (new), export (failed)
    ids.a = (await put({ export: { name: 'a' } })).body.export._id;
    ids.b = (await put({ export: { name: 'b', type: 'download' } })).body.export._id;
    ids.c = (await put({ _schedules: [{ hours: [1] }], export: { name: 'c', type: 'export_incremental' } })).body.export._id;
    ids.d = (await put({ export: { name: 'd' } })).body.export._id;
    await app.request.post(`/api/v1/export/${ids.d}/stop`).query({ token }).expect(200);
  });
  after(async () => app.close());

  it('R-EXP-1 lists newest first with count, limit null when not requested, and without the heavy attributes', async () => {
    const r = await list({}).expect(200);
    expect(r.body).to.include({ limit: null, offset: 0, count: 4 });
    expect(r.body.objects.map((o: { export: { name: string } }) => o.export.name)).to.deep.equal(['d', 'c', 'b', 'a']);
    for (const key of ['_files', '_downloads', '_schedules', '_transports', '_log']) {
      expect(r.body.objects[0]).not.to.have.property(key);
    }
  });

  it('R-EXP-1 pages with limit and offset', async () => {
    const r = await list({ limit: '2', offset: '1' }).expect(200);
    expect(r.body).to.include({ limit: 2, offset: 1, count: 4 });
    expect(r.body.objects.map((o: { export: { name: string } }) => o.export.name)).to.deep.equal(['c', 'b']);
  });

  it('R-EXP-1 filters with the seed grammar (OR of AND parts, | alternatives)', async () => {
    const names = async (filter: string) =>
      (await list({ filter }).expect(200)).body.objects.map((o: { export: { name: string } }) => o.export.name);
    expect(await names('type:download|export_incremental')).to.deep.equal(['c', 'b']);
    expect(await names('type:export+status:failed')).to.deep.equal(['d']);
    expect(await names('type:download|export+status:failed,type:export_incremental')).to.deep.equal(['d', 'c']);
    expect(await names('status:new|pending')).to.deep.equal(['c', 'b', 'a']);
  });

  for (const [label, filter] of [
    ['empty filter', ''],
    ['trailing comma', 'type:export,'],
    ['empty part', 'type:export+'],
    ['no colon', 'type'],
    ['unknown variable', 'color:red'],
    ['unknown type value', 'type:zip'],
    ['unknown status value', 'status:running'],
    ['empty value', 'type:export|'],
    ['missing variable', ':export'],
  ] as const) {
    it(`R-EXP-1 a malformed filter is a 400 invalid_value (${label})`, async () => {
      const r = await list({ filter }).expect(400);
      expect(r.body).to.deep.include({ realm: 'api', code: 'error.api.invalid_value' });
      expect(r.body.parameters.path).to.equal('filter');
    });
  }

  it('R-EXP-1 a filter given twice is a 400 invalid_value', async () => {
    const r = await app.request.get('/api/v1/export?filter=type:export&filter=status:new').query({ token }).expect(400);
    expect(r.body).to.deep.include({ realm: 'api', code: 'error.api.invalid_value' });
  });

  for (const [name, value] of [
    ['limit', '-1'],
    ['limit', '1.5'],
    ['limit', 'ten'],
    ['offset', '-3'],
    ['offset', ''],
  ] as const) {
    it(`R-EXP-1 ${name}=${JSON.stringify(value)} is a 400 invalid_value`, async () => {
      const r = await list({ [name]: value }).expect(400);
      expect(r.body.code).to.equal('error.api.invalid_value');
      expect(r.body.parameters.path).to.equal(name);
    });
  }

  it('R-EXP-9 malformed JSON is 400 invalid_content and creates nothing', async () => {
    const r = await app.request.put('/api/v1/export').query({ token }).set('Content-Type', 'application/json').send('{"export": {').expect(400);
    expect(r.body.code).to.equal('error.api.invalid_content');
    expect((await list({}).expect(200)).body.count).to.equal(4);
  });

  const cases: [string, unknown, string, string][] = [
    ['unknown attribute in export', { export: { colour: 'red' } }, 'error.api.attribute_not_accepted', 'export.colour'],
    ['unknown nested attribute', { export: { csv: { delimiter: ';', sep: 1 } } }, 'error.api.attribute_not_accepted', 'export.csv.sep'],
    ['unknown top-level attribute', { export: {}, extra: 1 }, 'error.api.attribute_not_accepted', 'extra'],
    ['missing export', { _schedules: [] }, 'error.api.attribute_expected', 'export'],
    ['wrong type of csv', { export: { csv: 'yes' } }, 'error.api.type_mismatch', 'export.csv'],
    ['wrong type of json', { export: { json: 1 } }, 'error.api.type_mismatch', 'export.json'],
    ['wrong type in custom_data', { export: { custom_data: [{ key: 'k', value: 5 }] } }, 'error.api.type_mismatch', 'export.custom_data[0].value'],
    ['bad enum', { export: { type: 'everything' } }, 'error.api.invalid_value', 'export.type'],
    ['bad time zone', { export: { timezone: 'Mars/Olympus' } }, 'error.api.invalid_value', 'export.timezone'],
    ['batch_size out of range', { export: { batch_size: 0 } }, 'error.api.invalid_value', 'export.batch_size'],
    ['delimiter too long', { export: { csv: { delimiter: ';;' } } }, 'error.api.invalid_value', 'export.csv.delimiter'],
    ['schedules not an array', { export: { name: 'x' }, _schedules: {} }, 'error.api.type_mismatch', '_schedules'],
  ];
  for (const [label, body, code, path] of cases) {
    it(`R-EXP-9 ${label} -> ${code} at ${path}`, async () => {
      const r = await put(body).expect(400);
      expect(r.body.code).to.equal(code);
      expect(r.body.parameters.path).to.equal(path);
      expect(r.body.realm).to.equal('api');
      expect(r.body.description).to.be.a('string');
    });
  }

  it('R-EXP-9 a body over 1 MiB is 413 payload_too_large', async () => {
    const big = { export: { name: 'x', custom_data: [{ key: 'k', value: 'v'.repeat(1_100_000) }] } };
    const r = await put(big).expect(413);
    expect(r.body.code).to.equal('error.api.payload_too_large');
  });

  it('R-EXP-9 a non-numeric export id is 400, not 404', async () => {
    const r = await app.request.get('/api/v1/export/abc').query({ token }).expect(400);
    expect(r.body.code).to.equal('error.api.invalid_value');
  });

  it('R-EXP-8 keeps the newest 500 events, oldest dropped, newest last', async () => {
    for (let i = 0; i < LOG_LIMIT + 5; i++) await logEvent(app.db, ids.a, 'EXPORT_UPDATE', { i });
    const r = await app.request.get(`/api/v1/export/${ids.a}`).query({ token }).expect(200);
    expect(r.body._log).to.have.length(LOG_LIMIT);
    expect(r.body._log.at(-1).info).to.deep.equal({ i: LOG_LIMIT + 4 });
    expect(r.body._log[0].info).to.deep.equal({ i: 5 });
    expect(r.body._log[0]).to.have.keys('type', 'timestamp', 'info');
  });
});
