import { expect } from 'chai';
import { expireDownloads } from '../../server/domain/runs/expiry.js';
import { ExportService } from '../../server/domain/exports/export-service.js';
import { moduleValidators } from '../../server/domain/exports/nested-validators.js';
import type { Storage } from '../../server/infra/storage/storage.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { GateProducer } from '../helpers/producers.js';

/**
 * R-ROB-6 (issue 9, finding 1): one user's stored strings can never stop another user's schedules. Input is refused
 * before anything is committed, and a bad row that got in anyway (by SQL, or before input was checked) is isolated
 * by every query over all owners.
 */
describe('tenant isolation of stored strings (R-ROB-6)', () => {
  let app: TestApp;
  let alice: string;
  let bob: string;
  let clock = new Date('2026-03-01T10:00:30Z');
  const now = () => new Date(clock.getTime());

  before(async () => {
    const gate = new GateProducer();
    gate.releaseAll();
    app = await startTestApp({ producers: [gate], compose: { now } });
    ({ token: alice } = await app.login('alice'));
    ({ token: bob } = await app.login('bob'));
  });
  afterEach(async () => {
    await app.db('runs').whereIn('state', ['pending', 'processing']).update({ state: 'failed' });
    await app.db('exports').delete();
  });
  after(() => app.close());

  const scheduled = async (token: string, name: string) =>
    (
      await app.request
        .put('/api/v1/export')
        .query({ token })
        .send({ export: { name }, _schedules: [{ cron: '* * * * *' }] })
        .expect(200)
    ).body.export._id as number;
  /** A raw JSON text body, so escapes like `\udfff` reach the server exactly as a hostile client writes them. */
  const postRaw = (token: string, id: number, json: string) =>
    app.request.post(`/api/v1/export/${id}`).query({ token }).set('Content-Type', 'application/json').send(json);
  const snapshot = async (id: number) => {
    const row = await app.db('exports').where({ id }).first('version', 'next_run_at', 'schedules');
    const text = await app.db.raw('select definition::text as d from exports where id = ?', [id]);
    return { ...row, definition: text.rows[0].d as string };
  };

  for (const [what, jsonEscape] of [
    ['NUL', '\\u0000'],
    ['a lone low surrogate', '\\udfff'],
    ['a lone high surrogate', '\\ud800x'],
  ] as const) {
    it(`an update with ${what} in custom_data is a 400 naming the attribute and changes nothing`, async () => {
      const id = await scheduled(alice, 'alice-nightly');
      const before = await snapshot(id);
      const r = await postRaw(alice, id, `{"export": {"custom_data": [{"key": "k", "value": "a${jsonEscape}b"}]}}`).expect(400);
      expect(r.body).to.include({ realm: 'api', code: 'error.api.invalid_value' });
      expect(r.body.parameters).to.deep.equal({ path: 'export.custom_data[0].value' });
      expect(await snapshot(id)).to.deep.equal(before);
    });
  }

  it('a key with NUL names the key (escaped) in the path; a lone surrogate in a search string too', async () => {
    const id = await scheduled(alice, 'alice-keys');
    const r = await postRaw(alice, id, '{"export": {"fields": {"photo.a\\u0000": {}}}}').expect(400);
    expect(r.body.parameters.path).to.equal('export.fields.photo.a\\u0000');
    const s = await postRaw(
      alice,
      id,
      '{"export": {"search": {"search": [{"type": "match", "fields": ["photo.t"], "string": "\\udc00"}]}}}',
    ).expect(400);
    expect(s.body.parameters.path).to.equal('export.search.search[0].string');
  });

  it('a bad row written by SQL does not stop another user\'s schedule; it is logged and suspended', async () => {
    clock = new Date('2026-03-01T10:00:30Z');
    const bad = await scheduled(alice, 'alice-bad');
    const badToo = await scheduled(alice, 'alice-bad-surrogate');
    const good = await scheduled(bob, 'bob-good');
    // Bypass the API the way legacy data or a hand edit would: `json` keeps these escapes verbatim.
    await app.db.raw(
      `update exports set definition = (left(definition::text, -1) || ', "custom_data": [{"key": "k", "value": "x\\u0000"}]}')::json where id = ?`,
      [bad],
    );
    await app.db.raw(
      `update exports set definition = (left(definition::text, -1) || ', "custom_data": [{"key": "k", "value": "\\udfff"}]}')::json where id = ?`,
      [badToo],
    );
    // The rows really are unreadable as text for PostgreSQL (what used to fail the whole tick).
    for (const id of [bad, badToo]) {
      let failed = false;
      await app.db.raw(`select definition->>'timezone' from exports where id = ?`, [id]).catch(() => {
        failed = true;
      });
      expect(failed, `row ${id} is unreadable`).to.equal(true);
    }

    clock = new Date('2026-03-01T10:01:01Z');
    const result = await app.scheduler.tick();
    expect(result.queued).to.equal(1);
    const fired = await app.db('schedule_fires').select('export_id');
    expect(fired.map((f: { export_id: number }) => f.export_id)).to.deep.equal([good]);
    expect((await app.db('runs').where({ export_id: good })).length).to.equal(1);
    // The unreadable rows are no longer due (not retried every tick); bob's next fire is planned.
    const rows = await app.db('exports').whereIn('id', [bad, badToo, good]).orderBy('id').select('id', 'next_run_at');
    expect(rows.map((r: { next_run_at: Date | null }) => r.next_run_at?.toISOString() ?? null)).to.deep.equal([
      null,
      null,
      '2026-03-01T10:02:00.000Z',
    ]);
    // The owner still sees their export, and an update with valid input repairs its schedule.
    const shown = await app.request.get(`/api/v1/export/${bad}`).query({ token: alice }).expect(200);
    const version = shown.body.export._version as number;
    const fixed = await app.request
      .post(`/api/v1/export/${bad}`)
      .query({ token: alice })
      .send({ export: { _version: version + 1, custom_data: [] } })
      .expect(200);
    expect(fixed.body._next_run).to.equal('2026-03-01T10:02:00.000Z');
  });

  it('the expiry sweep expires every owner\'s downloads even when one export\'s files cannot be deleted', async () => {
    const download = async (token: string) =>
      (await app.request.put('/api/v1/export').query({ token }).send({ export: { type: 'download' } }).expect(200)).body
        .export._id as number;
    const first = await download(alice);
    const second = await download(bob);
    const worker = app.createWorker({ pollMs: 20, heartbeatMs: 200 });
    worker.start();
    try {
      await eventually(async () => {
        const rows = await app.db('exports').whereIn('id', [first, second]).whereNotNull('published_run_id');
        return rows.length === 2;
      });
    } finally {
      await worker.stop();
    }
    // Alice's expired first, so the sweep meets it first.
    await app.db('exports').where({ id: first }).update({ expires_at: new Date('2026-01-01T00:00:00Z') });
    await app.db('exports').where({ id: second }).update({ expires_at: new Date('2026-01-02T00:00:00Z') });
    const storage = Object.create(app.storage) as Storage;
    storage.deletePrefix = async (prefix: string) => {
      if (prefix.startsWith(`exports/${first}/`)) throw new Error('EACCES: permission denied');
      return app.storage.deletePrefix(prefix);
    };
    let error: unknown;
    await expireDownloads(app.db, storage, new Date('2026-02-01T00:00:00Z')).catch((e) => {
      error = e;
    });
    expect((error as Error)?.message).to.match(/EACCES/);
    const rows = await app.db('exports').whereIn('id', [first, second]).orderBy('id').select('published_run_id');
    expect(rows.map((r: { published_run_id: number | null }) => r.published_run_id)).to.deep.equal([null, null]);
  });

  it('an update whose schedule bookkeeping fails answers an error and commits nothing', async () => {
    const id = await scheduled(alice, 'alice-atomic');
    const before = await snapshot(id);
    const failing = new ExportService({
      db: app.db,
      storage: app.storage,
      validators: moduleValidators,
      defaultTimezone: 'UTC',
      onSchedulesChanged: async () => {
        throw new Error('bookkeeping failed');
      },
    });
    const owner = (await app.db('exports').where({ id }).first('owner_id')).owner_id as number;
    let error: unknown;
    await failing
      .update(owner, id, { export: { name: 'renamed' }, _schedules: [{ cron: '5 * * * *' }] }, false)
      .catch((e) => {
        error = e;
      });
    expect((error as Error)?.message).to.equal('bookkeeping failed');
    expect(await snapshot(id)).to.deep.equal(before);
    expect((await app.db('exports').where({ id }).first('name')).name).to.equal('alice-atomic');
  });
});
