import assert from 'node:assert/strict';
import { utils } from 'ssh2';
import { createSftpTransport } from '../../../server/domain/transports/sftp.js';
import { expectNoSecrets, freePort, makeCtx, RUN_FOLDER, rejection, bigFile, sampleFiles, tempDir } from './helpers.js';
import { readTree, remoteTransportSuite, type RemoteHarness } from './remote-suite.js';
import { type SftpTestServer, startSftpServer } from './servers/sftp-server.js';
import { rm, mkdir } from 'node:fs/promises';
import path from 'node:path';

const PASSWORD = 'sftp-Secret-9f3';
const clientKey = utils.generateKeyPairSync('ed25519');

describe('sftp transport (ssh2 server)', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let server: SftpTestServer;
  const transport = (allowHosts = ['127.0.0.1']) => createSftpTransport({ allowHosts, readyTimeoutMs: 3000 });
  const options = (extra: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port: server.port,
    username: 'alice',
    password: PASSWORD,
    path: '/upload',
    ...extra,
  });
  const runDir = () => path.join(root.dir, 'upload', RUN_FOLDER);

  before(async () => {
    root = await tempDir('sftp-');
    server = await startSftpServer({
      root: root.dir,
      username: 'alice',
      password: PASSWORD,
      publicKey: utils.parseKey(clientKey.public) as never,
    });
  });
  after(async () => {
    await server.close();
    await root.remove();
  });

  const harness: RemoteHarness = {
    name: 'sftp',
    transport,
    options: () => options(),
    downOptions: async () => options({ port: await freePort() }),
    badLoginOptions: () => options({ password: 'wrong-Password-1' }),
    secrets: [PASSWORD, 'wrong-Password-1'],
    delivered: () => readTree(runDir()),
    completedOrder: () =>
      server.events
        .filter((e) => e.startsWith('rename:'))
        .map((e) => e.slice('rename:'.length).replace(`/upload/${RUN_FOLDER}/`, '')),
    reset: async () => {
      server.events.length = 0;
      await rm(path.join(root.dir, 'upload'), { recursive: true, force: true });
      await mkdir(path.join(root.dir, 'upload'));
    },
  };
  remoteTransportSuite(() => harness);

  it('R-TR-2 sftp delivers when host_fingerprint matches the server key', async () => {
    const t = transport();
    await t.deliver(t.validate(options({ host_fingerprint: server.fingerprint }), 'o'), makeCtx());
    assert.equal((await readTree(runDir())).size, 3);
  });

  it('R-TR-2 sftp refuses a server whose host key does not match host_fingerprint', async () => {
    const t = transport();
    const wrong = `SHA256:${Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '')}`;
    const err = await rejection(() => t.deliver(t.validate(options({ host_fingerprint: wrong }), 'o'), makeCtx()));
    assert.match(err.message, /presented host key SHA256:.* but SHA256:.* was expected/);
    assert.ok(err.message.includes(server.fingerprint));
    expectNoSecrets(err, [PASSWORD]);
    assert.equal((await readTree(path.join(root.dir, 'upload'))).size, 0);
  });

  it('R-TR-2 sftp without host_fingerprint accepts the key and logs the fingerprint it saw', async () => {
    const t = transport();
    const ctx = makeCtx();
    await t.deliver(t.validate(options(), 'o'), ctx);
    assert.ok(ctx.logs.some((l) => l.info?.fingerprint === server.fingerprint));
  });

  it('R-TR-2 sftp logs in with private_key', async () => {
    const t = transport();
    const { password: _drop, ...rest } = options({ private_key: clientKey.private });
    await t.deliver(t.validate(rest, 'o'), makeCtx());
    assert.equal((await readTree(runDir())).size, 3);
  });

  it('R-TR-2 sftp validation: needs password or private_key, rejects bad fingerprints and unknown options', () => {
    const t = transport();
    assert.throws(() => t.validate({ host: 'h', username: 'u', path: '/' }, 'o'), { code: 'error.api.invalid_value' });
    assert.throws(() => t.validate({ ...options(), host_fingerprint: 'MD5:aa' }, 'o'), {
      code: 'error.api.invalid_value',
    });
    assert.throws(
      () => t.validate({ ...options(), bogus: 1 }, 'o'),
      (e: any) => e.parameters.path === 'o.bogus',
    );
    assert.throws(
      () => t.validate({ ...options(), private_key: 'not a key' }, 'o'),
      (e: any) => !e.message.includes('not a key'),
    );
    assert.equal(t.validate({ host: 'h', username: 'u', password: 'p' }, 'o').port, 22);
  });
});

describe('sftp transport against a server that drops the connection mid-upload', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let server: SftpTestServer;
  before(async () => {
    root = await tempDir('sftp-drop-');
    server = await startSftpServer({ root: root.dir, username: 'alice', password: PASSWORD, dropAfterBytes: 200_000 });
  });
  after(async () => {
    await server.close();
    await root.remove();
  });

  it('R-TR-3 sftp fails cleanly and removes the partial files when the connection drops', async () => {
    const t = createSftpTransport({ allowHosts: ['127.0.0.1'], readyTimeoutMs: 3000 });
    const ctx = makeCtx({ files: [...sampleFiles(), bigFile('big.bin', 1_000_000)] });
    const o = t.validate(
      { host: '127.0.0.1', port: server.port, username: 'alice', password: PASSWORD, path: 'out' },
      'o',
    );
    const err = await rejection(() => t.deliver(o, ctx));
    assert.match(err.message, /^SFTP upload to 127\.0\.0\.1 failed: the connection was (closed unexpectedly|reset)/);
    expectNoSecrets(err, [PASSWORD]);
    assert.equal(server.connections, 2, 'cleanup reconnects');
    assert.deepEqual([...(await readTree(root.dir)).keys()], [], 'partial and completed files are removed');
  });
});
