import assert from 'node:assert/strict';
import {
  checkHostAllowed,
  classifyAddress,
  DestinationRefused,
  literalRefusal,
  parseAllowList,
} from '../../../server/domain/transports/allow-hosts.js';
import { isPermanent } from '../../../server/domain/transports/failure.js';
import { rejection } from '../../integration/transports/helpers.js';

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

  it('R-ROB-5 refuses IPv6 transition forms of internal IPv4 addresses and the special IPv6 ranges (ipaddr.js)', async () => {
    const refused: [string, RegExp][] = [
      ['64:ff9b::7f00:1', /NAT64 .* of 127\.0\.0\.1 \(loopback\)/],
      ['64:ff9b::a9fe:a9fe', /NAT64 .*link-local/],
      ['64:ff9b:1::1', /local-use NAT64/],
      ['::ffff:0:7f00:1', /SIIT .*loopback/],
      ['::ffff:127.0.0.1', /IPv4-mapped .*loopback/],
      ['2002:7f00:1::1', /6to4 .* of 127\.0\.0\.1/],
      ['2002:a00:1::', /6to4 .* of 10\.0\.0\.1 \(private\)/],
      ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
      ['fec0::1', /site-local/],
      ['100::1', /discard/],
      ['fd12:3456::1', /unique-local/],
      ['ff02::1', /multicast/],
      ['2001:db8::1', /documentation/],
      ['2001:2::1', /benchmarking/],
      ['::7f00:1', /IPv4-compatible/],
      ['fe80::1%lo', /link-local/],
    ];
    for (const [address, reason] of refused) {
      const err = await rejection(() => checkHostAllowed(address, []));
      assert.ok(err instanceof DestinationRefused, address);
      assert.ok(isPermanent(err), `${address} is a permanent refusal`);
      assert.match(err.message, reason, address);
    }
    // The public IPv4 behind a transition form is as reachable as the IPv4 itself.
    assert.equal(await checkHostAllowed('64:ff9b::808:808', []), '64:ff9b::808:808');
    assert.equal(await checkHostAllowed('2002:808:808::1', []), '2002:808:808::1');
    assert.equal(await checkHostAllowed('::ffff:8.8.8.8', []), '::ffff:8.8.8.8');
  });

  it('R-ROB-5 refuses IPv4 multicast, broadcast, documentation and benchmarking; multicast even when listed', async () => {
    for (const [address, reason] of [
      ['224.0.0.1', /multicast/],
      ['255.255.255.255', /broadcast/],
      ['192.0.2.10', /documentation/],
      ['198.51.100.1', /documentation/],
      ['203.0.113.7', /documentation/],
      ['198.18.0.1', /benchmarking/],
      ['240.0.0.1', /reserved/],
    ] as const) {
      assert.match((await rejection(() => checkHostAllowed(address, []))).message, reason);
    }
    assert.match((await rejection(() => checkHostAllowed('224.0.0.1', ['224.0.0.0/4']))).message, /never connect/);
    assert.match((await rejection(() => checkHostAllowed('0.0.0.0', ['0.0.0.0/0']))).message, /never connect/);
    assert.equal(await checkHostAllowed('198.18.0.1', ['198.18.0.0/15']), '198.18.0.1');
    // An allow-list entry for the IPv4 address admits its IPv4-mapped form as well.
    assert.equal(await checkHostAllowed('::ffff:127.0.0.1', ['127.0.0.1']), '::ffff:127.0.0.1');
    assert.equal(classifyAddress('93.184.216.34'), null);
  });

  it('R-ROB-5 literalRefusal judges IP literals under the allow list and leaves host names to delivery time', () => {
    assert.match(literalRefusal('10.0.0.1', [])!, /private/);
    assert.match(literalRefusal('[::1]', [])!, /loopback/);
    assert.equal(literalRefusal('10.0.0.1', ['10.0.0.0/8']), null);
    assert.equal(literalRefusal('localhost', []), null);
    assert.equal(literalRefusal('8.8.8.8', []), null);
    for (const numeric of ['2130706433', '0x7f.1', '0177.0.0.1', '127.1']) assert.match(literalRefusal(numeric, [])!, /loopback/, numeric);
    assert.equal(literalRefusal('134744072', []), null, '8.8.8.8 in decimal');
    assert.equal(literalRefusal('files.example', []), null);
  });
});
