import type { Producer, RunContext } from '../../server/domain/runs/run-context.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { DataProducer } from '../../server/domain/produce/data-producer.js';
import { eventually, startTestApp, type TestApp } from './app.js';
import { freePort } from './server-process.js';
import { ensureWebBundle } from './web-bundle.js';

/**
 * Holds the runs of the exports a test names until it releases them (or the run is stopped), after reporting
 * partial progress: so a browser test can watch "processing" with a progress bar, and stop a run that is still going.
 * Runs first; the real DataProducer writes the files after the release.
 */
export class HoldProducer implements Producer {
  readonly name = 'hold';
  private readonly held = new Map<string, { waiting: Promise<void>; release: () => void }>();
  /** Export names whose run is inside this producer right now. */
  readonly inside = new Set<string>();

  hold(exportName: string) {
    let release = () => {};
    const waiting = new Promise<void>((r) => {
      release = r;
    });
    this.held.set(exportName, { waiting, release });
  }

  release(exportName: string) {
    this.held.get(exportName)?.release();
    this.held.delete(exportName);
  }

  async produce(ctx: RunContext): Promise<void> {
    const gate = this.held.get(ctx.export.name);
    if (!gate) return;
    Object.assign(ctx.progress, { objects_total: 10, objects_done: 4, percent: 40 });
    this.inside.add(ctx.export.name);
    try {
      await Promise.race([
        gate.waiting,
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }),
        ),
      ]);
    } finally {
      this.inside.delete(ctx.export.name);
    }
  }
}

type Obj = Record<string, any>;

/** The real app (real producer, real worker, real HTTP on loopback) plus data set-up through its API. */
export interface BrowserApp {
  app: TestApp;
  url: string;
  hold: HoldProducer;
  user(login: string): Promise<ApiUser>;
  close(): Promise<void>;
}

export interface ApiUser {
  login: string;
  password: string;
  token: string;
  upload(name: string, bytes: Buffer): Promise<Obj>;
  save(type: string, items: Obj[]): Promise<Obj[]>;
  /** PUT /api/v1/export with `{ export, ...extra }`; returns the created export. */
  createExport(exp: Obj, extra?: Obj): Promise<Obj>;
  view(id: number): Promise<Obj>;
  /** Waits until the export is done or failed (and its transports settled). */
  settled(id: number, ms?: number): Promise<Obj>;
  passkey(id: number): Promise<string>;
}

export async function startBrowserApp(env: Record<string, string> = {}): Promise<BrowserApp> {
  // The page under test is the built bundle (dist/web), rebuilt when web/ changed since.
  ensureWebBundle();
  const hold = new HoldProducer();
  // Download links are absolute (PUBLIC_URL), and the browser follows them: the app must serve where they point.
  const port = await freePort();
  const app = await startTestApp({
    producers: [hold, new DataProducer()],
    env: { PUBLIC_URL: `http://127.0.0.1:${port}`, ...env },
    compose: { deliveryRetryBaseMs: 20 },
  });
  await new Promise<void>((r) => app.server.close(() => r()));
  await new Promise<void>((resolve, reject) => {
    app.server.once('error', reject);
    app.server.listen(port, '127.0.0.1', () => resolve());
  });
  const worker: Worker = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 600_000 });
  worker.start();
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    hold,
    async user(login) {
      const password = `${login}-password`;
      const { token } = await app.login(login, password);
      const q = { token };
      const view = async (id: number) => (await app.request.get(`/api/v1/export/${id}`).query(q).expect(200)).body;
      return {
        login,
        password,
        token,
        async upload(name, bytes) {
          return (
            await app.request
              .post('/api/v1/eas/put')
              .query({ ...q, filename: name })
              .type('application/octet-stream')
              .send(bytes)
              .expect(200)
          ).body;
        },
        async save(type, items) {
          const r = await app.request
            .put(`/api/v1/db/${type}`)
            .query(q)
            .send(items.map((i) => ({ _objecttype: type, [type]: i })))
            .expect(200);
          return r.body.map((o: Obj) => o[type]);
        },
        async createExport(exp, extra = {}) {
          return (
            await app.request
              .put('/api/v1/export')
              .query(q)
              .send({ export: exp, ...extra })
              .expect(200)
          ).body;
        },
        view,
        settled: (id, ms = 30_000) =>
          eventually(async () => {
            const e = await view(id);
            const transports = (e._transports ?? []) as { _state?: string }[];
            const ready = transports.every((t) => t._state === 'done' || t._state === 'failed');
            return (e._state === 'done' || e._state === 'failed') && ready ? e : null;
          }, ms),
        async passkey(id) {
          return (await app.db('exports').where({ id }).first('passkey')).passkey as string;
        },
      };
    },
    async close() {
      await worker.stop();
      await app.close();
    },
  };
}

/** A small PNG-looking asset (a valid signature, so it is classed as an image). */
export const png = (n: number) =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(400 + n, n)]);
