import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { buildServerOnce } from '../helpers/server-build.js';
import { createTestDatabase } from '../helpers/cluster.js';
import { histogramCounts, parseMetrics, promtoolCheck, PROM_CLIENT_DEFAULT_FINDINGS, sample } from '../helpers/metrics.js';
import { rememberSecret } from '../helpers/log-capture.js';
import { freePort, type ServerProcess, startServerProcess } from '../helpers/server-process.js';

/** The compiled server as ROLE=worker: no API, but /metrics, /healthz and /readyz on METRICS_PORT (issue 12). */
describe('a ROLE=worker process serves its metrics on METRICS_PORT (issue 12)', function () {
  this.timeout(120_000);
  let worker: ServerProcess;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  let base: string;
  const METRICS_TOKEN = 'worker-metrics-token-5f2e9c';

  before(async function () {
    this.timeout(180_000);
    rememberSecret(METRICS_TOKEN);
    buildServerOnce();
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'em-worker-metrics-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    worker = await startServerProcess(
      { DATABASE_URL: database.url, DATA_DIR: dataDir, LOG_LEVEL: 'info', ROLE: 'worker', METRICS_PORT: String(port), METRICS_TOKEN, SHUTDOWN_DRAIN: '3s' },
      'worker started',
    );
  });
  after(async () => {
    await worker?.stop();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('answers /healthz and /readyz, and nothing of the API', async () => {
    expect(worker.output()).to.include(`metrics on 127.0.0.1:${new URL(base).port}/metrics`);
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
    expect(await (await fetch(`${base}/readyz`)).json()).to.deep.equal({ status: 'ready' });
    expect((await fetch(`${base}/api/v1/session`)).status).to.equal(404);
  });

  it('serves /metrics to the bearer of METRICS_TOKEN only; the output parses and passes promtool where installed', async () => {
    expect((await fetch(`${base}/metrics`)).status).to.equal(401);
    const res = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).to.equal(200);
    const text = await res.text();
    const m = parseMetrics(text);
    expect(sample(m, 'export_manager_database_up')).to.equal(1);
    expect(sample(m, 'export_manager_queue_depth', { queue: 'runs' })).to.equal(0);
    expect(m.map((f) => f.name)).to.include.members(['process_cpu_user_seconds_total', 'export_manager_run_duration_seconds', 'export_manager_deliveries_total']);
    // Its own requests are measured: the 401 above, by route pattern.
    expect(histogramCounts(text, 'export_manager_http_request_duration_seconds').some((s) => s.labels.route === '/metrics' && s.labels.status === '401')).to.equal(true);
    const checked = promtoolCheck(text);
    if (checked) {
      const findings = checked.output.split('\n').filter((l) => l.trim() !== '' && !PROM_CLIENT_DEFAULT_FINDINGS.test(l.trim()));
      expect(findings, checked.output).to.deep.equal([]);
    }
  });

  it('on SIGTERM: /readyz answers 503 "shutdown" on new connections for SHUTDOWN_DRAIN, then the process exits 0', async () => {
    const exited = new Promise<void>((r) => worker.child.once('exit', () => r()));
    const started = Date.now();
    worker.child.kill('SIGTERM');
    const res = await (async () => {
      for (;;) {
        const r = await fetch(`${base}/readyz`, { headers: { Connection: 'close' } });
        if (r.status === 503) return r;
        await new Promise((done) => setTimeout(done, 20));
      }
    })();
    expect(await res.json()).to.deep.equal({ status: 'not ready', failing: ['shutdown'], reason: 'shutting down' });
    expect((await fetch(`${base}/healthz`, { headers: { Connection: 'close' } })).status).to.equal(200);
    await exited;
    expect(Date.now() - started).to.be.at.least(2500);
    expect(worker.child.exitCode).to.equal(0);
  });
});
