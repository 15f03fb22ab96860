import assert from 'node:assert/strict';
import path from 'node:path';
import { isPermanent } from '../../../server/domain/transports/failure.js';
import { createTransportRegistry } from '../../../server/domain/transports/registry.js';
import { parseLocationUrl } from '../../../server/domain/transports/url.js';
import { makeCtx, OWNER_ID, RUN_FOLDER, rejection, tempDir } from './helpers.js';
import { readTree } from './remote-suite.js';

const registry = (roots: string[] = ['/srv/exports']) =>
  createTransportRegistry({ allowHosts: [], directoryRoots: roots, smtpUrl: null });

describe('transport registry and url transport', () => {
  it('R-TR-1 validates entries strictly, ignoring read-only attributes', () => {
    const list = registry().validateTransports([
      { type: 'download', packer: 'zip_2gb', _state: 'done', _download: [], _log: [], _failure_reason: null },
      { type: 'email', options: { notify: 'failure' }, email: { recipients: ['x@example.test'], message: 'hi' } },
      { type: 'sftp', options: { host: 'files.example', username: 'u', password: 'p', path: '/in' } },
    ]);
    assert.deepEqual(list[0], { type: 'download', packer: 'zip_2gb', options: {} });
    assert.equal(list[2]!.options.port, 22);
  });

  it('R-TR-1 names the attribute path in errors', () => {
    const r = registry();
    const code = (input: unknown) => {
      try {
        r.validateTransports(input);
      } catch (e: any) {
        return [e.code, e.parameters.path];
      }
      return null;
    };
    assert.deepEqual(code([{ type: 'download', bogus: 1 }]), [
      'error.api.attribute_not_accepted',
      '_transports[0].bogus',
    ]);
    assert.deepEqual(code([{ type: 'teleport' }]), ['error.api.invalid_value', '_transports[0].type']);
    assert.deepEqual(code([{ type: 'download', packer: 'rar' }]), ['error.api.invalid_value', '_transports[0].packer']);
    assert.deepEqual(code([{ type: 'email' }]), ['error.api.attribute_expected', '_transports[0].email']);
    assert.deepEqual(code([{ type: 'email', email: { recipients: ['nope'] } }]), [
      'error.api.invalid_value',
      '_transports[0].email.recipients[0]',
    ]);
    assert.deepEqual(code([{ type: 'sftp', options: { host: 'h', username: 'u', password: 'p', port: 'x' } }]), [
      'error.api.type_mismatch',
      '_transports[0].options.port',
    ]);
    assert.deepEqual(code([{ type: 'download' }, { type: 'ftp', email: { recipients: ['a@b.test'] } }]), [
      'error.api.attribute_not_accepted',
      '_transports[1].email',
    ]);
    assert.deepEqual(code({}), ['error.api.type_mismatch', '_transports']);
  });

  it('R-TR-2 url splits sftp, ftp(s), s3 and file URLs into the target options', () => {
    assert.deepEqual(parseLocationUrl('sftp://bob:p%40ss@files.example:2222/in/box', 'u'), {
      type: 'sftp',
      options: { host: 'files.example', port: 2222, username: 'bob', password: 'p@ss', path: '/in/box' },
    });
    assert.equal(parseLocationUrl('sftp://bob@h/~/drop', 'u').options.path, 'drop');
    assert.deepEqual(parseLocationUrl('ftps://bob:pw@h/out', 'u').options, {
      host: 'h',
      username: 'bob',
      password: 'pw',
      path: 'out',
      secure: 'explicit',
    });
    assert.deepEqual(parseLocationUrl('s3://KEY:SECRET@my-bucket/a/b', 'u'), {
      type: 's3',
      options: { bucket: 'my-bucket', prefix: 'a/b', access_key_id: 'KEY', secret_access_key: 'SECRET' },
    });
    assert.deepEqual(parseLocationUrl('file:///srv/exports/x', 'u'), {
      type: 'directory',
      options: { path: '/srv/exports/x' },
    });
  });

  it('R-TR-2 url validates the completed target options and refuses duplicates and foreign options', () => {
    const r = registry();
    assert.doesNotThrow(() => r.validateTransports([{ type: 'url', options: { url: 'sftp://u@h/x', password: 'p' } }]));
    const t = r.getTransport('url');
    assert.throws(
      () => t.validate({ url: 'sftp://u@h/x' }, 'o'),
      (e: any) => e.parameters.path === 'o.password',
    );
    assert.throws(
      () => t.validate({ url: 'sftp://u:p@h/x', password: 'q' }, 'o'),
      (e: any) => e.parameters.path === 'o.password',
    );
    assert.throws(
      () => t.validate({ url: 'sftp://u:p@h/x', bucket: 'b' }, 'o'),
      (e: any) => e.code === 'error.api.attribute_not_accepted',
    );
    assert.throws(
      () => t.validate({ url: 'gopher://h/x' }, 'o'),
      (e: any) => e.parameters.path === 'o.url',
    );
    assert.throws(
      () => t.validate({ url: 'file:///etc/x' }, 'o'),
      (e: any) => e.parameters.path === 'o.path',
    );
    assert.deepEqual(t.hosts(t.validate({ url: 'ftp://u:p@ftp.example/x' }, 'o')), ['ftp.example']);
  });

  it("R-TR-2 accepts the seed's {type: 'url', url} form, stored as options.url; errors name the attribute sent", () => {
    const r = registry();
    const [entry] = r.validateTransports([{ type: 'url', url: 'ftp://u:p@ftp.example/in' }]);
    assert.deepEqual(entry, { type: 'url', options: { url: 'ftp://u:p@ftp.example/in' } });
    const failure = (input: unknown) => {
      try {
        r.validateTransports([input]);
      } catch (e: any) {
        return [e.status, e.code, e.parameters.path, e.message];
      }
      return null;
    };
    const bad = failure({ type: 'url', url: 'gopher://h/x' });
    assert.deepEqual(bad!.slice(0, 3), [400, 'error.api.invalid_value', '_transports[0].url']);
    assert.match(bad![3], /^Attribute _transports\[0\]\.url /);
    assert.deepEqual(failure({ type: 'url', url: 'ftp://h/x', options: { url: 'ftp://h/y' } })!.slice(0, 3), [
      400,
      'error.api.attribute_not_accepted',
      '_transports[0].url',
    ]);
    assert.deepEqual(failure({ type: 'url', url: 'sftp://u@10.1.2.3/x', options: { password: 'p' } })!.slice(0, 3), [
      400,
      'error.api.invalid_value',
      '_transports[0].url',
    ]);
  });

  it('R-ROB-8 hostile URLs and endpoints are 400s naming the attribute, not 500s', () => {
    const r = registry();
    const path = (input: unknown) => {
      try {
        r.validateTransports([input]);
      } catch (e: any) {
        assert.equal(e.status, 400, String(e.stack));
        return e.parameters.path;
      }
      return null;
    };
    const s3 = { bucket: 'exports', access_key_id: 'k', secret_access_key: 's' };
    assert.equal(path({ type: 's3', options: { ...s3, endpoint: 'not a url' } }), '_transports[0].options.endpoint');
    assert.equal(path({ type: 's3', options: { ...s3, endpoint: 'http://[::1' } }), '_transports[0].options.endpoint');
    assert.equal(path({ type: 's3', options: { ...s3, endpoint: 'http://127.0.0.1:9000' } }), '_transports[0].options.endpoint');
    assert.equal(path({ type: 'webhook', options: { url: 'http://exa mple/' } }), '_transports[0].options.url');
    assert.equal(path({ type: 'url', options: { url: 'ftp://u:%zz@h/x' } }), '_transports[0].options.url');
    assert.equal(path({ type: 'url', options: { url: 'file:///srv/exports/a%2Fb' } }), '_transports[0].options.url');
    assert.equal(path({ type: 'sftp', options: { host: '::1', username: 'u', password: 'p' } }), '_transports[0].options.host');
    assert.equal(path({ type: 'ftp', options: { host: '192.168.1.1' } }), '_transports[0].options.host');
  });

  it('R-ROB-5 a url transport saved before its host was refused fails permanently, not as an internal error', async () => {
    const t = registry().getTransport('url');
    const err = await rejection(() => t.deliver({ url: 'sftp://u:p@10.0.0.1/x' }, makeCtx()));
    assert.match(err.message, /^Connections to 10\.0\.0\.1 are not allowed: private address/);
    assert.ok(isPermanent(err));
  });

  it('R-TR-2 url dispatches file:/// to the directory transport', async () => {
    const root = await tempDir('url-');
    try {
      const t = registry([root.dir]).getTransport('url');
      await t.deliver(t.validate({ url: `file://${root.dir}/drop` }, 'o'), makeCtx());
      assert.equal((await readTree(path.join(root.dir, String(OWNER_ID), 'drop', RUN_FOLDER))).size, 3);
    } finally {
      await root.remove();
    }
  });
});
