import assert from 'node:assert/strict';
import { checkHostAllowed, parseAllowList, unmapIPv4 } from '../../../server/domain/transports/allow-hosts.js';
import { rejection } from './helpers.js';

const resolveTo =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('allow-hosts', () => {
  it('R-TR-5 refuses 127.0.0.1 when not listed and allows it when listed', async () => {
    assert.match((await rejection(() => checkHostAllowed('127.0.0.1', []))).message, /loopback/);
    assert.equal(await checkHostAllowed('127.0.0.1', ['127.0.0.1']), '127.0.0.1');
    assert.equal(await checkHostAllowed('127.0.0.5', ['127.0.0.0/8']), '127.0.0.5');
  });

  it('R-TR-5 refuses 169.254.169.254 always unless listed', async () => {
    assert.match(
      (await rejection(() => checkHostAllowed('169.254.169.254', ['127.0.0.1', '10.0.0.0/8']))).message,
      /link-local/,
    );
    assert.equal(await checkHostAllowed('169.254.169.254', ['169.254.169.254']), '169.254.169.254');
  });

  it('R-TR-5 refuses private, CGNAT, unspecified, IPv6 internal and IPv4-mapped addresses', async () => {
    for (const a of [
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
    ]) {
      await rejection(() => checkHostAllowed(a, []));
    }
    assert.equal(unmapIPv4('::ffff:7f00:1'), '127.0.0.1');
    assert.equal(await checkHostAllowed('8.8.8.8', []), '8.8.8.8');
    assert.equal(await checkHostAllowed('2001:4860:4860::8888', []), '2001:4860:4860::8888');
  });

  it('R-TR-5 checks every address a name resolves to, and allows listed names', async () => {
    const rebinding = resolveTo('93.184.216.34', '127.0.0.1');
    assert.match(
      (await rejection(() => checkHostAllowed('evil.example', [], rebinding))).message,
      /evil\.example \(127\.0\.0\.1\)/,
    );
    assert.equal(await checkHostAllowed('intranet.local', ['intranet.local'], resolveTo('10.0.0.9')), '10.0.0.9');
    assert.equal(await checkHostAllowed('public.example', [], resolveTo('93.184.216.34')), '93.184.216.34');
    assert.deepEqual(parseAllowList(' 10.0.0.0/8, files.local  127.0.0.1'), ['10.0.0.0/8', 'files.local', '127.0.0.1']);
  });

  it('R-TR-5 refuses "localhost" (it resolves to loopback)', async () => {
    assert.match((await rejection(() => checkHostAllowed('localhost', []))).message, /loopback/);
  });
});
