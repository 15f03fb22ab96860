import { rename } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import knex from 'knex';
import Koa from 'koa';
import supertest from 'supertest';
import { healthRoutes } from '../../server/http/routes/health-routes.js';
import { createLogger } from '../../server/infra/logger.js';
import { LocalStorage } from '../../server/infra/storage/local-storage.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe('readiness: /readyz names the failing part (issue 12)', function () {
  this.timeout(30_000);
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await app?.close();
  });

  it('is 200 when the database answers, no migration is pending and the storage is usable', async () => {
    expect((await app.request.get('/readyz').expect(200)).body).to.deep.equal({ status: 'ready' });
  });

  it('is 503 naming the storage while its folder is gone, and ready again once it is back', async () => {
    const root = path.join(app.dataDir, 'storage');
    await rename(root, `${root}.away`);
    try {
      const res = await app.request.get('/readyz').expect(503);
      expect(res.body).to.include({ status: 'not ready' });
      expect(res.body.failing).to.deep.equal(['storage']);
      expect(res.body.reason).to.match(/^storage: /);
      // The folder's path is logged, not told to the anonymous prober.
      expect(JSON.stringify(res.body)).not.to.include(app.dataDir);
    } finally {
      await rename(`${root}.away`, root);
    }
    await app.request.get('/readyz').expect(200);
  });

  it('is 503 naming the migrations while one is pending', async () => {
    const [last] = await app.db('knex_migrations').orderBy('id', 'desc').limit(1);
    await app.db('knex_migrations').where({ id: last.id }).delete();
    try {
      const res = await app.request.get('/readyz').expect(503);
      expect(res.body.failing).to.deep.equal(['migrations']);
      expect(res.body.reason).to.equal('migrations: migrations are pending');
    } finally {
      await app.db('knex_migrations').insert(last);
    }
    await app.request.get('/readyz').expect(200);
  });

  it('is 503 naming the database when it does not answer (and not the migrations it cannot know)', async () => {
    const probe = createTcpServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const db = knex({ client: 'pg', connection: `postgres://nobody:pw@127.0.0.1:${port}/none`, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2000, log: { warn() {}, error() {}, debug() {}, deprecate() {} } });
    const koa = new Koa();
    koa.use(healthRoutes({ db, storage: new LocalStorage(app.dataDir), log: createLogger('silent'), isShuttingDown: () => false }).routes());
    const server: Server = koa.listen(0, '127.0.0.1');
    try {
      const res = await supertest(server).get('/readyz').expect(503);
      expect(res.body.failing).to.deep.equal(['database']);
      expect(res.body.reason).to.equal('database: the database does not answer');
    } finally {
      server.close();
      await db.destroy();
    }
  });

  it('is 503 from the moment the shutdown starts (SIGTERM), while /healthz still says the process is up', async () => {
    app.app.emit('shutdown');
    const res = await app.request.get('/readyz').expect(503);
    expect(res.body).to.deep.equal({ status: 'not ready', failing: ['shutdown'], reason: 'shutting down' });
    await app.request.get('/healthz').expect(200);
  });
});
