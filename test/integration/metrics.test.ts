import type http from 'node:http';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../server/config.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { FileProducer } from '../helpers/file-producer.js';
import { histogramCount, histogramCounts, PROM_CLIENT_DEFAULT_FINDINGS, parseMetrics, promtoolCheck, sample } from '../helpers/metrics.js';

const binary = (res: unknown, cb: (err: Error | null, body: Buffer) => void) => {
  const parts: Buffer[] = [];
  (res as http.IncomingMessage).on('data', (c: Buffer) => parts.push(c));
  (res as http.IncomingMessage).on('end', () => cb(null, Buffer.concat(parts)));
};

describe('Prometheus metrics at GET /metrics (issue 12)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let token: string;
  let worker: Worker | null = null;
  const producer = new FileProducer();
  let exportId: number;

  const scrapeText = async () => (await app.request.get('/metrics').expect(200).expect('content-type', /^text\/plain; version=0\.0\.4/)).text;
  const scrape = async () => parseMetrics(await scrapeText());
  const view = async (id: number) => (await app.request.get(`/api/v1/export/${id}`).query({ token }).expect(200)).body;
  const get = (url: string) => app.request.get(url).buffer(true).parse(binary).expect(200);

  before(async () => {
    app = await startTestApp({ producers: [producer] });
    ({ token } = await app.login('metrics'));
  });
  after(async () => {
    await worker?.stop();
    await app?.close();
  });

  it('queue gauges come from the database: depth and age of the oldest pending run, runs by state', async () => {
    producer.plans.set('Measured', [
      { path: 'objects.csv', data: Buffer.from('id;name\n1;Äpfel\n') },
      { path: 'bilder/a.bin', data: Buffer.alloc(70_000, 7) },
    ]);
    const body = { export: { name: 'Measured', type: 'export' }, _transports: [
        { type: 'download', packer: 'zip' },
        { type: 'download', packer: 'tar' },
        // Small enough for one part, which is still served as a split part (`<name>.1.zip`).
        { type: 'download', packer: 'zip_10mb' },
      ],
    };
    exportId = (await app.request.put('/api/v1/export').query({ token }).send(body).expect(200)).body.export._id;
    // No worker yet: the run waits. Made two minutes old so the age is unmistakable.
    await app.db('runs').where({ export_id: exportId }).update({ created_at: app.db.raw("now() - interval '120 seconds'") });
    const m = await scrape();
    expect(sample(m, 'export_manager_database_up')).to.equal(1);
    expect(sample(m, 'export_manager_queue_depth', { queue: 'runs' })).to.equal(1);
    expect(sample(m, 'export_manager_queue_oldest_pending_age_seconds', { queue: 'runs' })).to.be.within(120, 600);
    expect(sample(m, 'export_manager_runs', { state: 'pending' })).to.equal(1);
    expect(sample(m, 'export_manager_runs', { state: 'done' })).to.equal(0);
    expect(sample(m, 'export_manager_queue_depth', { queue: 'deliveries' })).to.equal(0);
  });

  it('a run and its deliveries move the run duration histogram, runs by state and the deliveries counter', async () => {
    worker = app.createWorker();
    worker.start();
    await eventually(async () => {
      const e = await view(exportId);
      return e._state === 'done' && e._transports.every((t: { _state: string }) => t._state === 'done');
    }, 20_000);
    const text = await scrapeText();
    const m = parseMetrics(text);
    expect(sample(m, 'export_manager_queue_depth', { queue: 'runs' })).to.equal(0);
    expect(sample(m, 'export_manager_queue_oldest_pending_age_seconds', { queue: 'runs' })).to.equal(0);
    expect(sample(m, 'export_manager_runs', { state: 'done' })).to.equal(1);
    expect(sample(m, 'export_manager_runs', { state: 'pending' })).to.equal(0);
    expect(m.find((f) => f.name === 'export_manager_run_duration_seconds')?.type).to.equal('HISTOGRAM');
    expect(histogramCount(text, 'export_manager_run_duration_seconds', { outcome: 'done' })).to.equal(1);
    expect(sample(m, 'export_manager_deliveries_total', { type: 'download', outcome: 'done' })).to.equal(3);
  });

  it('bytes served move by the exact length of each download, by kind; nothing stays in flight', async () => {
    const e = await view(exportId);
    const linksOf = (packer: string): string[] =>
      e._transports
        .filter((t: { packer: string }) => t.packer === packer)
        .flatMap((t: { _download: { _files: { url: string }[] } }) => t._download._files.map((l) => new URL(l.url).pathname));
    const [zipLink] = linksOf('zip');
    const [tarLink] = linksOf('tar');
    const splitLinks = linksOf('zip_10mb');
    expect(splitLinks).to.have.length(1);
    expect(splitLinks[0]).to.match(/\.1\.zip$/);
    const before = await scrape();
    const file = (await get(`/api/v1/export/${exportId}/file/bilder/a.bin?token=${token}`)).body as Buffer;
    const zip = (await get(`/api/v1/export/${exportId}/zip?token=${token}`)).body as Buffer;
    const download = (await get(zipLink)).body as Buffer;
    const tar = (await get(tarLink)).body as Buffer;
    const split = (await get(splitLinks[0])).body as Buffer;
    // A range request counts the bytes of the part it was sent.
    const part = await app.request.get(tarLink).set('Range', 'bytes=100-1099').buffer(true).parse(binary).expect(206);
    expect((part.body as Buffer).length).to.equal(1000);
    // HEAD sends no body.
    await app.request.head(zipLink).expect(200);
    const after = await scrape();
    const moved = (kind: string) =>
      (sample(after, 'export_manager_served_bytes_total', { kind }) ?? 0) - (sample(before, 'export_manager_served_bytes_total', { kind }) ?? 0);
    expect(file.length).to.equal(70_000);
    expect(moved('file')).to.equal(70_000);
    expect(moved('zip')).to.equal(zip.length);
    expect(moved('download')).to.equal(download.length);
    expect(moved('tar')).to.equal(tar.length + 1000);
    expect(split.length).to.be.above(70_000);
    expect(moved('split_part')).to.equal(split.length);
    for (const kind of ['file', 'zip', 'download', 'split_part', 'tar']) {
      expect(sample(after, 'export_manager_served_streams_in_flight', { kind }), kind).to.equal(0);
    }
  });

  it('HTTP durations are labelled by route pattern and status, never by raw path or passkey', async () => {
    await app.request.get(`/api/v1/export/${exportId}`).query({ token }).expect(200);
    await app.request.get('/api/v1/export/999999').query({ token }).expect(404);
    await app.request.get('/no/such/route/secret-looking-path').expect(404);
    const text = await scrapeText();
    const m = parseMetrics(text);
    const family = m.find((f) => f.name === 'export_manager_http_request_duration_seconds');
    expect(family?.type).to.equal('HISTOGRAM');
    const routes = new Set(histogramCounts(text, 'export_manager_http_request_duration_seconds').map((s) => s.labels.route));
    expect(routes).to.include('/api/v1/export/:id');
    expect(routes).to.include('/api/v1/export/:id/download/{*rest}');
    expect(routes).to.include('(unmatched)');
    expect(histogramCount(text, 'export_manager_http_request_duration_seconds', { method: 'GET', route: '/api/v1/export/:id', status: '404' })).to.be.at.least(1);
    expect(text).not.to.include('secret-looking-path');
    expect(text).not.to.include(token);
    const passkey = (await app.db('exports').where({ id: exportId }).first()).passkey as string;
    expect(text).not.to.include(passkey);
  });

  it('the output parses, has the default process metrics, and passes promtool check metrics where installed', async function () {
    const text = await scrapeText();
    const m = parseMetrics(text);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(m.map((f) => f.name), name).to.include(name);
    }
    const checked = promtoolCheck(text);
    if (!checked) {
      console.log('      (promtool is not installed: `promtool check metrics` skipped; Debian package prometheus has it)');
      this.skip();
    }
    // promtool exits non-zero on lint findings too; only prom-client's own default names are tolerated.
    const findings = checked.output.split('\n').filter((l) => l.trim() !== '' && !PROM_CLIENT_DEFAULT_FINDINGS.test(l.trim()));
    expect(findings, checked.output).to.deep.equal([]);
  });
});

describe('METRICS_TOKEN protects GET /metrics (issue 12)', function () {
  this.timeout(30_000);
  let app: TestApp;
  const secret = 'metrics-token-0123456789abcdef';
  before(async () => {
    app = await startTestApp({ env: { METRICS_TOKEN: secret } });
  });
  after(async () => {
    await app?.close();
  });

  it('answers 401 with the SPEC error shape without the bearer token or with a wrong one, 200 with it', async () => {
    for (const auth of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${secret}`, secret]) {
      const req = app.request.get('/metrics');
      if (auth) req.set('Authorization', auth);
      const res = await req.expect(401);
      expect(res.headers['www-authenticate']).to.match(/^Bearer/);
      expect(res.body).to.include({ realm: 'user', code: 'error.user.not_authenticated' });
    }
    const ok = await app.request.get('/metrics').set('Authorization', `Bearer ${secret}`).expect(200);
    expect(parseMetrics(ok.text).length).to.be.greaterThan(10);
  });
});

describe('METRICS_PORT and METRICS_TOKEN configuration (issue 12)', () => {
  it('has defaults, and refuses a port out of range or a short token without echoing it', () => {
    expect(loadConfig({})).to.include({ METRICS_PORT: 9464, METRICS_TOKEN: '' });
    expect(loadConfig({ METRICS_PORT: '0' }).METRICS_PORT).to.equal(0);
    expect(() => loadConfig({ METRICS_PORT: '70000' })).to.throw(ConfigError, /METRICS_PORT/);
    let message = '';
    try {
      loadConfig({ METRICS_TOKEN: 'short-tok' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.match(/METRICS_TOKEN: must be empty or at least 16 printable characters/);
    expect(message).not.to.include('short-tok');
  });
});
