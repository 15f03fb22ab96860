import { expect } from 'chai';
import Koa from 'koa';
import supertest from 'supertest';
import { Writable } from 'node:stream';
import { ConfigError, loadConfig } from '../../server/config.js';
import { AppError } from '../../server/domain/errors.js';
import { errorMiddleware } from '../../server/http/middleware/errors.js';
import { requestContext } from '../../server/http/middleware/request-context.js';
import { createLogger } from '../../server/infra/logger.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe('health, errors and configuration', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => app.close());

  it('R-RUN-5 /healthz and /readyz answer', async () => {
    expect((await app.request.get('/healthz').expect(200)).body).to.deep.equal({ status: 'ok' });
    expect((await app.request.get('/readyz').expect(200)).body).to.deep.equal({ status: 'ready' });
  });

  it('R-ERR an unknown route is a JSON 404', async () => {
    const r = await app.request.get('/api/v1/nothing-here').expect(404);
    expect(r.body).to.include({ realm: 'api', code: 'error.api.not_found' });
  });

  it('R-ERR a server error returns a uuid that the log line carries, and no stack', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const koa = new Koa();
    koa.use(requestContext(createLogger('info', sink)));
    koa.use(errorMiddleware);
    koa.use(() => {
      throw new Error('database password is hunter2');
    });
    const r = await supertest(koa.callback()).get('/x').expect(500);
    expect(r.body).to.have.keys('realm', 'code', 'description', 'parameters', 'uuid');
    expect(r.body).to.include({ realm: 'server', code: 'error.server.generic' });
    expect(r.text).not.to.include('hunter2');
    expect(r.text).not.to.include('at ');
    expect(lines.join('')).to.include(r.body.uuid);
  });

  it('R-ERR AppErrors render status, realm, code, description and parameters', async () => {
    const koa = new Koa();
    koa.use(errorMiddleware);
    koa.use(() => {
      throw new AppError(409, 'user', 'export_busy', 'busy', { id: 3 });
    });
    const r = await supertest(koa.callback()).get('/').expect(409);
    expect(r.body).to.deep.equal({ realm: 'user', code: 'error.user.export_busy', description: 'busy', parameters: { id: 3 } });
  });

  it('R-RUN-4 a bad environment value fails with a message naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).to.throw(ConfigError, /PORT/);
    expect(() => loadConfig({ ROLE: 'boss' })).to.throw(ConfigError, /ROLE/);
    expect(() => loadConfig({ SESSION_TTL: 'forever' })).to.throw(ConfigError, /SESSION_TTL/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).to.throw(ConfigError, /DATABASE_URL/);
    expect(() => loadConfig({ STORAGE: 'ftp' })).to.throw(ConfigError, /STORAGE/);
    expect(() => loadConfig({ STORAGE: 's3' })).to.throw(ConfigError, /S3_BUCKET: is required when STORAGE=s3/);
    expect(() => loadConfig({ STORAGE: 's3', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k' })).to.throw(ConfigError, /give both/);
    expect(loadConfig({ STORAGE: 's3', S3_BUCKET: 'b' }).STORAGE).to.equal('s3');
    const c = loadConfig({});
    expect(c).to.include({ PORT: 8080, ROLE: 'all', WORKER_CONCURRENCY: 2, EXPORT_TTL_DAYS: 3, SESSION_TTL: 86_400_000 });
    expect(Object.isFrozen(c)).to.equal(true);
  });
});
