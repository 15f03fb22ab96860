import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { errorMiddleware } from '../../../server/http/middleware/errors.js';
import { loggedPath } from '../../../server/http/middleware/request-context.js';

describe('http middleware', () => {
  it('the request log never shows the passkey of a download link', () => {
    expect(loggedPath('/api/v1/export/7/download/s3cretPasskey/run/12/Export.zip')).to.equal(
      '/api/v1/export/7/download/***/run/12/Export.zip',
    );
    expect(loggedPath('/api/v1/api/v1/export/7/download/abc/Export.zip')).to.equal('/api/v1/api/v1/export/7/download/***/Export.zip');
    expect(loggedPath('/api/v1/export/7/zip/folder')).to.equal('/api/v1/export/7/zip/folder');
  });

  it('a response given up because the client left (respond = false, 499) is not turned into a redirect or error', async () => {
    const app = new Koa();
    const req = new IncomingMessage(new Socket());
    const res = new ServerResponse(req);
    const ctx = app.createContext(req, res);
    ctx.state.browserErrors = { frontendUrl: '', keyFor: () => 'server.error' };
    await errorMiddleware(ctx, async () => {
      ctx.status = 499;
      ctx.respond = false;
    });
    expect(ctx.status).to.equal(499);
    expect(ctx.response.get('Location') ?? '').to.equal('');
  });
});
