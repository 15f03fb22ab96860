import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { TransportError } from './failure.js';

/**
 * R-TR-5: a user-supplied destination must not make the server reach internal services. Public addresses are always
 * allowed; loopback, private, link-local (incl. the cloud metadata address 169.254.169.254), CGNAT, unspecified,
 * multicast and reserved ranges only when the host name, the address or a CIDR containing it is in
 * TRANSPORT_ALLOW_HOSTS.
 *
 * DNS rebinding: a name could resolve to a public address when checked and to 127.0.0.1 when connected. Callers
 * therefore connect to the address this check returns (SFTP, FTP control + data connections), or install
 * `guardedLookup` as the socket's DNS lookup so the check and the connection use the same answer (S3, webhook).
 */
const INTERNAL_V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['127.0.0.0', 8, 'loopback'],
  ['10.0.0.0', 8, 'private'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['169.254.0.0', 16, 'link-local'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['192.0.0.0', 24, 'reserved'],
  ['198.18.0.0', 15, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const INTERNAL_V6: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'private'],
  ['fe80::', 10, 'link-local'],
  ['ff00::', 8, 'multicast'],
];

function kindOf(address: string): string | null {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  for (const [net, prefix, kind] of family === 'ipv4' ? INTERNAL_V4 : INTERNAL_V6) {
    const list = new BlockList();
    list.addSubnet(net, prefix, family);
    if (list.check(address, family)) return kind;
  }
  return null;
}

/** `::ffff:127.0.0.1`, `::ffff:7f00:1` and the deprecated `::127.0.0.1` reach IPv4 hosts: judge them as IPv4. */
export function unmapIPv4(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIPv6(address);
  const zeros = groups.slice(0, 5).every((g) => g === 0);
  if (zeros && (groups[5] === 0xffff || (groups[5] === 0 && groups[6] !== 0))) {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return address;
}

function expandIPv6(address: string): number[] {
  let text = address.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = dotted[1]!.split('.').map(Number);
    text =
      text.slice(0, -dotted[1]!.length) +
      `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => Number.parseInt(g || '0', 16));
}

/** The parsed TRANSPORT_ALLOW_HOSTS: host names, IP addresses and CIDRs. */
interface AllowList {
  names: Set<string>;
  blocks: BlockList;
}

function compile(allowList: readonly string[]): AllowList {
  const names = new Set<string>();
  const blocks = new BlockList();
  for (const raw of allowList) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    const [addr, prefix] = entry.split('/');
    const family = isIP(addr!);
    if (family && prefix !== undefined) blocks.addSubnet(addr!, Number(prefix), family === 6 ? 'ipv6' : 'ipv4');
    else if (family) blocks.addAddress(addr!, family === 6 ? 'ipv6' : 'ipv4');
    else names.add(entry.replace(/\.$/, ''));
  }
  return { names, blocks };
}

/** Splits the TRANSPORT_ALLOW_HOSTS environment value (comma or whitespace separated). */
export const parseAllowList = (value: string | undefined): string[] =>
  (value ?? '').split(/[\s,]+/).filter((s) => s.length > 0);

function refusalOf(host: string, address: string, list: AllowList): string | null {
  if (list.names.has(host.toLowerCase().replace(/\.$/, ''))) return null;
  const v4 = unmapIPv4(address);
  const family = isIP(v4) === 6 ? 'ipv6' : 'ipv4';
  const kind = kindOf(v4);
  if (!kind) return null;
  if (list.blocks.check(v4, family) || list.blocks.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')) return null;
  return `Connections to ${host}${host === address ? '' : ` (${address})`} are not allowed: it is a ${kind} address; an administrator can list it in TRANSPORT_ALLOW_HOSTS`;
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/**
 * Resolves `host` and returns the address to connect to. Every resolved address must pass: a client that picks
 * "any" address must not be able to pick the forbidden one.
 */
export async function checkHostAllowed(
  host: string,
  allowList: readonly string[],
  resolve: Resolver = systemResolver,
): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(bare) ? [{ address: bare, family: isIP(bare) }] : await resolve(bare);
  } catch (err) {
    throw new TransportError(`The host name ${bare} could not be resolved`, { cause: err });
  }
  if (addresses.length === 0) throw new TransportError(`The host name ${bare} could not be resolved`);
  const list = compile(allowList);
  for (const { address } of addresses) {
    const refusal = refusalOf(bare, address, list);
    if (refusal) throw new TransportError(refusal);
  }
  return addresses[0]!.address;
}

/**
 * A `lookup` for net/tls/http sockets (agents, http.request) that applies the same check to the addresses the socket
 * will actually use, closing the rebinding window for clients that resolve names themselves.
 */
export function guardedLookup(allowList: readonly string[], resolve: Resolver = systemResolver): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    checkHostAllowed(hostname, allowList, resolve).then(
      (address) => {
        const family = isIP(address);
        if (options?.all) callback(null, [{ address, family }]);
        else callback(null, address, family);
      },
      (err) => callback(err),
    );
  }) as LookupFunction;
}
