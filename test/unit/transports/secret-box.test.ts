import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  decryptSecret,
  encryptSecret,
  isSealed,
  keptSecrets,
  loadOrCreateSecretKey,
  maskSecrets,
  mergeSecrets,
  sealSecrets,
  unsealSecrets,
} from '../../../server/infra/secrets/secret-box.js';
import { rejection, tempDir } from '../../integration/transports/helpers.js';

const sftp = { type: 'sftp', secretOptions: ['password', 'private_key'] };
const url = { type: 'url', secretOptions: ['url', 'password', 'private_key', 'secret_access_key'] };

describe('secret box (R-TR-4)', () => {
  const key = randomBytes(32);

  it('R-TR-4 encrypts with AES-256-GCM in the v1 format and detects tampering or a wrong key', () => {
    const sealed = encryptSecret('hunter2', key);
    assert.match(sealed, /^v1:[^:]+:[^:]+:[^:]+$/);
    assert.ok(!sealed.includes('hunter2'));
    assert.equal(decryptSecret(sealed, key), 'hunter2');
    assert.notEqual(encryptSecret('hunter2', key), sealed, 'random IV');
    assert.throws(() => decryptSecret(sealed, randomBytes(32)), /could not be decrypted/);
    const [v, iv, tag, ct] = sealed.split(':');
    const flipped = Buffer.from(ct!, 'base64');
    flipped[0]! ^= 1;
    assert.throws(() => decryptSecret([v, iv, tag, flipped.toString('base64')].join(':'), key));
  });

  it('R-TR-4 loads SECRET_KEY as hex or base64, generates a 0600 key file outside production, refuses in production', async () => {
    const hex = randomBytes(32).toString('hex');
    const dir = await tempDir('key-');
    try {
      assert.equal((await loadOrCreateSecretKey(dir.dir, hex, true)).toString('hex'), hex);
      assert.equal(
        (await loadOrCreateSecretKey(dir.dir, Buffer.from(hex, 'hex').toString('base64'), true)).toString('hex'),
        hex,
      );
      await rejection(() => loadOrCreateSecretKey(dir.dir, 'short', false));
      assert.match(
        (await rejection(() => loadOrCreateSecretKey(dir.dir, undefined, true))).message,
        /SECRET_KEY is required/,
      );
      const generated = await loadOrCreateSecretKey(path.join(dir.dir, 'data'), undefined, false);
      const file = path.join(dir.dir, 'data', 'secret.key');
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal((await readFile(file, 'utf8')).trim(), generated.toString('hex'));
      assert.ok(
        (await loadOrCreateSecretKey(path.join(dir.dir, 'data'), '', false)).equals(generated),
        'stable across restarts',
      );
    } finally {
      await dir.remove();
    }
  });

  it('R-TR-4 seals, unseals, masks and merges transport secrets', () => {
    const plain = { host: 'h', username: 'u', password: 'pw', path: '/x' };
    const sealed = sealSecrets(sftp, plain, key);
    assert.ok(isSealed(sealed.password));
    assert.equal(sealed.host, 'h');
    assert.deepEqual(sealSecrets(sftp, sealed, key), sealed, 'idempotent');
    assert.deepEqual(unsealSecrets(sftp, sealed, key), plain);
    assert.deepEqual(maskSecrets(sftp, sealed), { ...plain, password: '***' });
    assert.deepEqual(mergeSecrets(sftp, sealed, { ...plain, password: '***', host: 'h2' }), { ...sealed, host: 'h2' });
    assert.equal(mergeSecrets(sftp, sealed, { ...plain, password: 'new' }).password, 'new');
  });

  it('R-TR-4 treats the password inside a url transport URL as a secret', () => {
    const plain = { url: 'sftp://bob:s3cr%40t@files.example:22/in' };
    const sealed = sealSecrets(url, plain, key);
    assert.ok(!String(sealed.url).includes('s3cr'));
    assert.match(String(sealed.url), /^sftp:\/\/bob:v1%3A.+@files\.example:22\/in$/);
    assert.deepEqual(unsealSecrets(url, sealed, key), plain);
    assert.deepEqual(maskSecrets(url, sealed), { url: 'sftp://bob:***@files.example:22/in' });
    const merged = mergeSecrets(url, sealed, { url: 'sftp://bob:***@files.example:22/other' });
    assert.deepEqual(unsealSecrets(url, merged, key), { url: 'sftp://bob:s3cr%40t@files.example:22/other' });
    assert.deepEqual(maskSecrets(url, { url: 's3://bucket/prefix' }), { url: 's3://bucket/prefix' });
  });

  it('R-ROB-7 reads a URL password as URLs are parsed: a raw "@" or ":" inside it is sealed whole, never shown', () => {
    const plain = { url: 'sftp://bob:p@ss:w@rd@files.example/in' };
    const sealed = sealSecrets(url, plain, key);
    const stored = String(sealed.url);
    for (const part of ['p@ss', 'ss:w', 'w@rd', 'rd@', 'ss']) assert.ok(!stored.includes(part), `${part} in ${stored}`);
    assert.equal(new URL(stored).hostname, 'files.example');
    assert.deepEqual(maskSecrets(url, sealed), { url: 'sftp://bob:***@files.example/in' });
    assert.equal(new URL(String(unsealSecrets(url, sealed, key).url)).password, 'p%40ss%3Aw%40rd');
    // Percent-encoded input is decoded before sealing, so the same password has one sealed form.
    const encoded = unsealSecrets(url, sealSecrets(url, { url: 'ftp://bob:p%40ss@h/x' }, key), key);
    assert.equal(new URL(String(encoded.url)).password, 'p%40ss');
  });

  it('R-TR-4 a secret option that merely looks like a URL is still sealed whole', () => {
    const sealed = sealSecrets(url, { url: 's3://bucket/x', password: 'ftp://not-a-url-but-a-password' }, key);
    assert.ok(isSealed(sealed.password));
    assert.equal(maskSecrets(url, sealed).password, '***');
  });

  it('R-ROB-7 keptSecrets names the secrets an update sends back as "***"', () => {
    assert.deepEqual(keptSecrets(sftp, { password: '***', private_key: 'k' }), ['password']);
    assert.deepEqual(keptSecrets(url, { url: 'sftp://bob:***@h/x', password: '***' }), ['url', 'password']);
    assert.deepEqual(keptSecrets(url, { url: 'sftp://bob:x@h/x' }), []);
  });
});
