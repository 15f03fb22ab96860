import net from 'node:net';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import Koa from 'koa';
import { loadConfig } from '../../server/config.js';
import type { Worker } from '../../server/domain/runs/worker.js';
import { createHttpServer } from '../../server/http/server.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

type Obj = Record<string, any>;

describe('time limits: statement timeout on API queries (R-ROB-8)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let token: string;
  let worker: Worker;

  before(async () => {
    app = await startTestApp({ env: { STATEMENT_TIMEOUT: '300ms' } });
    token = (await app.login('alice')).token;
    await app.request.put('/api/v1/db/photo').query({ token }).send([{ _objecttype: 'photo', photo: { title: 'a' } }]).expect(200);
    worker = app.createWorker({ pollMs: 50, heartbeatMs: 200, sweepMs: 60_000 });
  });
  after(async () => {
    await worker.stop();
    await app.close();
  });

  /** Holds an exclusive lock on `objects` for `ms`: every statement reading it waits (statement_timeout counts waits). */
  const lockObjects = async (ms: number) => {
    const trx = await app.db.transaction();
    await trx.raw('set local statement_timeout = 0');
    await trx.raw('lock table objects in access exclusive mode');
    return new Promise<void>((resolve) => setTimeout(() => void trx.rollback().then(() => resolve()), ms));
  };

  it('a search cancelled by STATEMENT_TIMEOUT answers 503 error.server.query_timeout with a sentence', async () => {
    const released = lockObjects(2000);
    const r = await app.request.post('/api/v1/search').query({ token }).send({ objecttypes: ['photo'] });
    await released;
    expect(r.status, JSON.stringify(r.body)).to.equal(503);
    expect(r.body).to.include({ realm: 'server', code: 'error.server.query_timeout' });
    expect(r.body.description).to.match(/took longer than the server allows/);
    expect(r.body.uuid).to.be.a('string');
    await app.request.post('/api/v1/search').query({ token }).send({ objecttypes: ['photo'] }).expect(200);
  });

  it("the producer's cursor is not cut by STATEMENT_TIMEOUT: a run that waits longer than it still finishes", async () => {
    const released = lockObjects(1500);
    const id = (await app.request.put('/api/v1/export').query({ token }).send({ export: { name: 'slow', json: true } }).expect(200)).body
      .export._id as number;
    worker.start();
    const done = await eventually(async () => {
      const v = (await app.request.get(`/api/v1/export/${id}`).query({ token })).body as Obj;
      return v._state === 'done' || v._state === 'failed' ? v : null;
    }, 30_000);
    await released;
    expect(done._state, done._failure_reason).to.equal('done');
    const run = await app.db('runs').where({ export_id: id }).first();
    // It really waited for the lock, longer than the timeout.
    expect(new Date(run.finished_at).getTime() - new Date(run.started_at).getTime()).to.be.greaterThan(300);
  });
});

describe('HTTP server timeouts (R-ROB-8)', function () {
  this.timeout(30_000);

  const serve = async (app: Koa, env: Record<string, string>) => {
    app.silent = true; // the cut requests are expected; Koa would print them
    const config = loadConfig({ DATA_DIR: '/tmp', ...env });
    const server = createHttpServer(app, config);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return { server, port: (server.address() as net.AddressInfo).port };
  };
  /** Resolves with what the server sent and when the connection ended (ms since `start`). */
  const ended = (socket: net.Socket, start: number) =>
    new Promise<{ ms: number; data: string }>((resolve) => {
      let data = '';
      socket.on('data', (d) => {
        data += d.toString('latin1');
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve({ ms: Date.now() - start, data }));
    });

  it('a client that never finishes its headers is disconnected after HTTP_HEADERS_TIMEOUT', async () => {
    const app = new Koa();
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const { server, port } = await serve(app, { HTTP_HEADERS_TIMEOUT: '1s', HTTP_REQUEST_TIMEOUT: '1s' });
    try {
      const start = Date.now();
      const socket = net.connect(port, '127.0.0.1');
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const timer = setInterval(() => socket.write('X-Slow: 1\r\n'), 200);
      const { ms, data } = await ended(socket, start);
      clearInterval(timer);
      expect(data).to.match(/^HTTP\/1\.1 408/);
      expect(ms).to.be.within(900, 8000);
    } finally {
      server.close();
    }
  });

  it('a body trickling in longer than HTTP_REQUEST_TIMEOUT is cut; a download slower than it is not', async () => {
    const app = new Koa();
    app.use(async (ctx) => {
      if (ctx.method === 'POST') {
        for await (const _ of ctx.req) {
          // consume
        }
        ctx.body = 'received';
        return;
      }
      // 12 chunks over ~2.4 s: longer than the request timeout, but always making progress.
      ctx.body = Readable.from(
        (async function* () {
          for (let i = 0; i < 12; i++) {
            await new Promise((r) => setTimeout(r, 200));
            yield Buffer.alloc(1024, 97);
          }
        })(),
      );
    });
    const { server, port } = await serve(app, { HTTP_HEADERS_TIMEOUT: '500ms', HTTP_REQUEST_TIMEOUT: '1s', HTTP_IDLE_TIMEOUT: '1s' });
    try {
      const start = Date.now();
      const up = net.connect(port, '127.0.0.1');
      up.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
      const timer = setInterval(() => up.write('a'), 100);
      const cut = await ended(up, start);
      clearInterval(timer);
      expect(cut.data).not.to.include('received');
      expect(cut.ms).to.be.within(900, 8000);

      const res = await fetch(`http://127.0.0.1:${port}/`);
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.status).to.equal(200);
      expect(body.length).to.equal(12 * 1024);
    } finally {
      server.close();
    }
  });

  it('a client that stops reading a download is disconnected after HTTP_IDLE_TIMEOUT', async () => {
    const app = new Koa();
    app.use((ctx) => {
      ctx.body = Readable.from((function* () {
        for (;;) yield Buffer.alloc(64 * 1024, 98);
      })());
    });
    const { server, port } = await serve(app, { HTTP_IDLE_TIMEOUT: '1s' });
    // The server's side of the connection: a paused client would not notice the close itself.
    const closed = new Promise<number>((resolve) => server.once('connection', (s) => s.on('close', () => resolve(Date.now()))));
    const socket = net.connect(port, '127.0.0.1');
    try {
      const start = Date.now();
      socket.on('error', () => {});
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      socket.pause(); // reads nothing: buffers fill, then no byte moves
      expect((await closed) - start).to.be.within(900, 15_000);
    } finally {
      socket.destroy();
      server.close();
    }
  });
});
