import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createFtpTransport } from '../../../server/domain/transports/ftp.js';
import { bigFile, expectNoSecrets, freePort, makeCtx, RUN_FOLDER, rejection, sampleFiles, tempDir } from './helpers.js';
import { readTree, remoteTransportSuite, type RemoteHarness } from './remote-suite.js';
import { selfSignedCert } from './servers/cert.js';
import { type FtpTestServer, startFtpServer } from './servers/ftp-server.js';

const PASSWORD = 'ftp-Secret-4c1';
const cert = selfSignedCert();

type Mode = false | 'explicit' | 'implicit';

function ftpSuite(mode: Mode) {
  if (mode && !cert) {
    // Generating the test certificate needs the openssl command; without it the TLS cases are reported as pending.
    describe.skip(`ftp transport (ftp-srv, secure: ${String(mode)}): openssl not found, TLS cases skipped`, () => {});
    return;
  }
  describe(`ftp transport (ftp-srv, secure: ${String(mode)})`, () => {
    let root: Awaited<ReturnType<typeof tempDir>>;
    let server: FtpTestServer;
    const transport = (allowHosts = ['127.0.0.1']) =>
      createFtpTransport({ allowHosts, timeoutMs: 3000, tls: cert ? { ca: cert.cert } : undefined });
    const options = (extra: Record<string, unknown> = {}) => ({
      host: '127.0.0.1',
      port: server.port,
      username: 'bob',
      password: PASSWORD,
      path: '/incoming',
      secure: mode,
      ...extra,
    });
    before(async () => {
      root = await tempDir('ftp-');
      server = await startFtpServer({
        root: root.dir,
        username: 'bob',
        password: PASSWORD,
        tls: mode ? cert! : undefined,
        implicit: mode === 'implicit',
      });
    });
    after(async () => {
      await server.close();
      await root.remove();
    });
    const harness: RemoteHarness = {
      name: 'ftp',
      transport,
      options: () => options(),
      downOptions: async () => options({ port: await freePort() }),
      badLoginOptions: () => options({ password: 'wrong-Password-2' }),
      secrets: [PASSWORD, 'wrong-Password-2'],
      delivered: () => readTree(path.join(root.dir, 'incoming', RUN_FOLDER)),
      completedOrder: () => server.events.map((e) => e.slice('rename:'.length).replace(`/incoming/${RUN_FOLDER}/`, '')),
      reset: async () => {
        server.events.length = 0;
        await rm(path.join(root.dir, 'incoming'), { recursive: true, force: true });
        await mkdir(path.join(root.dir, 'incoming'));
      },
    };
    remoteTransportSuite(() => harness);

    if (mode) {
      it('R-TR-2 ftp refuses a server whose TLS certificate is not trusted', async () => {
        const t = createFtpTransport({ allowHosts: ['127.0.0.1'], timeoutMs: 3000 });
        const err = await rejection(() => t.deliver(t.validate(options(), 'o'), makeCtx()));
        assert.match(err.message, /TLS certificate that is not trusted/);
        expectNoSecrets(err, [PASSWORD]);
      });
    }
  });
}

ftpSuite(false);
ftpSuite('explicit');
ftpSuite('implicit');

describe('ftp transport against a server that drops the connection mid-upload', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let server: FtpTestServer;
  before(async () => {
    root = await tempDir('ftp-drop-');
    server = await startFtpServer({ root: root.dir, username: 'bob', password: PASSWORD, dropAfterBytes: 200_000 });
  });
  after(async () => {
    await server.close();
    await root.remove();
  });

  it('R-TR-3 ftp fails cleanly and removes the partial files when the connection drops', async () => {
    const t = createFtpTransport({ allowHosts: ['127.0.0.1'], timeoutMs: 3000 });
    const ctx = makeCtx({ files: [...sampleFiles(), bigFile('big.bin', 1_000_000)] });
    const o = t.validate(
      { host: '127.0.0.1', port: server.port, username: 'bob', password: PASSWORD, path: 'out' },
      'o',
    );
    const err = await rejection(() => t.deliver(o, ctx));
    assert.match(err.message, /^FTP upload to 127\.0\.0\.1 failed: /);
    expectNoSecrets(err, [PASSWORD]);
    assert.equal(server.logins, 2, 'cleanup logs in again');
    assert.deepEqual([...(await readTree(root.dir)).keys()], [], 'partial and completed files are removed');
  });
});

describe('ftp transport validation', () => {
  it('R-TR-2 ftp defaults the port by secure mode and rejects unknown secure values', () => {
    const t = createFtpTransport({ allowHosts: [] });
    assert.equal(t.validate({ host: 'h', username: 'u', password: 'p' }, 'o').port, 21);
    assert.equal(t.validate({ host: 'h', username: 'u', password: 'p', secure: 'implicit' }, 'o').port, 990);
    assert.throws(
      () => t.validate({ host: 'h', secure: 'yes' }, 'o'),
      (e: any) => e.parameters.path === 'o.secure',
    );
  });
});
