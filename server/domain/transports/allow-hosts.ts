import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { TransportError } from './failure.js';

/**
 * R-TR-5, R-ROB-5: a user-supplied destination must not make the server reach internal services. Only global unicast
 * addresses are allowed by default; every special range ipaddr.js knows (loopback, private, link-local incl. the
 * cloud metadata address 169.254.169.254, CGNAT, unique-local, site-local, discard, multicast, broadcast,
 * documentation, benchmarking, reserved, Teredo, unspecified …) is refused unless the host name, the address or a
 * CIDR containing it is in TRANSPORT_ALLOW_HOSTS. IPv6 forms that carry an IPv4 address (IPv4-mapped, SIIT, NAT64
 * `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address they reach.
 *
 * DNS rebinding: a name could resolve to a public address when checked and to 127.0.0.1 when connected. Callers
 * therefore connect to the address this check returns (SFTP, FTP control + data connections), or install
 * `guardedLookup` as the socket's DNS lookup so the check and the connection use the same answer (S3, webhook).
 */

/**
 * A destination refused by policy. It is permanent: retrying cannot change the answer, so the delivery runner fails
 * the transport at once instead of trying three times (R-ROB-5).
 */
export class DestinationRefused extends TransportError {
  readonly permanent = true;
  constructor(message: string) {
    super(message);
    this.name = 'DestinationRefused';
  }
}

/** Human names of ipaddr.js ranges; they end up in `_failure_reason` and in 400 messages. */
const LABELS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'shared (CGNAT, 100.64.0.0/10)',
  private: 'private',
  reserved: 'reserved',
  as112: 'AS112 (reserved)',
  as112v6: 'AS112 (reserved)',
  amt: 'AMT (reserved)',
  uniqueLocal: 'unique-local (fc00::/7)',
  deprecatedSiteLocal: 'site-local (fec0::/10)',
  discard: 'discard-only (100::/64)',
  teredo: 'Teredo tunnel (2001::/32)',
  benchmarking: 'benchmarking',
  deprecatedOrchid: 'ORCHID (reserved)',
  orchid2: 'ORCHIDv2 (reserved)',
  droneRemoteIdProtocolEntityTags: 'DRIP (reserved)',
  segmentRouting: 'segment-routing (5f00::/16)',
  rfc6052: 'local-use NAT64 (64:ff9b:1::/48)',
};

/** ipaddr.js folds these into `reserved`; the reason is clearer with their own names. */
const V4_DETAIL: [string, string][] = [
  ['192.0.2.0/24', 'documentation (TEST-NET-1)'],
  ['198.51.100.0/24', 'documentation (TEST-NET-2)'],
  ['203.0.113.0/24', 'documentation (TEST-NET-3)'],
  ['198.18.0.0/15', 'benchmarking (198.18.0.0/15)'],
  ['240.0.0.0/4', 'reserved (240.0.0.0/4)'],
];
const V6_DETAIL: [string, string][] = [
  ['2001:db8::/32', 'documentation (2001:db8::/32)'],
  ['3fff::/20', 'documentation (3fff::/20)'],
  // The deprecated IPv4-compatible form `::a.b.c.d`: ipaddr.js calls it unicast, but it names an IPv4 host.
  ['::/96', 'IPv4-compatible (::/96, deprecated)'],
];
const v4Detail = V4_DETAIL.map(([cidr, label]) => [ipaddr.IPv4.parseCIDR(cidr), label] as const);
const v6Detail = V6_DETAIL.map(([cidr, label]) => [ipaddr.IPv6.parseCIDR(cidr), label] as const);
const NAT64_WKP = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/** Ranges a TCP connection can never meaningfully go to: refused even when an allow-list entry covers them. */
const NEVER = new Set(['unspecified', 'broadcast', 'multicast']);

/** The IPv4 address an IPv6 transition address reaches, and the mechanism's name. */
function embeddedV4(ip: ipaddr.IPv6, range: string): { v4: ipaddr.IPv4; via: string } | null {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  if (range === 'ipv4Mapped') return { v4: ip.toIPv4Address(), via: 'IPv4-mapped (::ffff:0:0/96)' };
  if (range === 'rfc6145') return { v4: v4(p[6]!, p[7]!), via: 'SIIT (::ffff:0:0:0/96)' };
  if (range === 'rfc6052' && ip.match(NAT64_WKP)) return { v4: v4(p[6]!, p[7]!), via: 'NAT64 (64:ff9b::/96)' };
  if (range === '6to4') return { v4: v4(p[1]!, p[2]!), via: '6to4 (2002::/16)' };
  return null;
}

interface Verdict {
  /** What the address is, e.g. "loopback" or "NAT64 (64:ff9b::/96) form of 127.0.0.1 (loopback)". */
  kind: string;
  /** No allow-list entry can admit it. */
  never: boolean;
}

/** Why `address` (an IP literal) is not a public destination, or null when it is global unicast. */
export function classifyAddress(address: string): Verdict | null {
  const ip = ipaddr.parse(address.split('%')[0]!);
  if (ip.kind() === 'ipv4') {
    const v4 = ip as ipaddr.IPv4;
    const range = v4.range();
    if (range === 'unicast') return null;
    const detail = range === 'reserved' ? v4Detail.find(([cidr]) => v4.match(cidr))?.[1] : undefined;
    return { kind: detail ?? LABELS[range] ?? range, never: NEVER.has(range) };
  }
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  const embedded = embeddedV4(v6, range);
  if (embedded) {
    const inner = classifyAddress(embedded.v4.toString());
    return inner ? { kind: `${embedded.via} form of ${embedded.v4} (${inner.kind})`, never: inner.never } : null;
  }
  const detail = range === 'unicast' || range === 'reserved' ? v6Detail.find(([cidr]) => v6.match(cidr))?.[1] : undefined;
  if (range === 'unicast' && !detail) return null;
  return { kind: detail ?? LABELS[range] ?? range, never: NEVER.has(range) };
}

/** The parsed TRANSPORT_ALLOW_HOSTS: host names, IP addresses and CIDRs. */
interface AllowList {
  names: Set<string>;
  ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

function compile(allowList: readonly string[]): AllowList {
  const names = new Set<string>();
  const ranges: AllowList['ranges'] = [];
  for (const raw of allowList) {
    const entry = raw.trim().toLowerCase().replace(/^\[|\]$/g, '');
    if (!entry) continue;
    if (entry.includes('/') && ipaddr.isValidCIDR(entry)) ranges.push(ipaddr.parseCIDR(entry));
    else if (isIP(entry)) {
      const ip = ipaddr.parse(entry);
      ranges.push([ip, ip.kind() === 'ipv4' ? 32 : 128]);
    } else names.add(entry.replace(/\.$/, ''));
  }
  return { names, ranges };
}

/** Splits the TRANSPORT_ALLOW_HOSTS environment value (comma or whitespace separated). */
export const parseAllowList = (value: string | undefined): string[] =>
  (value ?? '').split(/[\s,]+/).filter((s) => s.length > 0);

/** `ip` or, for IPv4-mapped and friends, the IPv4 address it reaches, matched against the listed CIDRs. */
function listed(address: string, list: AllowList): boolean {
  const ip = ipaddr.parse(address.split('%')[0]!);
  const candidates: (ipaddr.IPv4 | ipaddr.IPv6)[] = [ip];
  if (ip.kind() === 'ipv6') {
    const embedded = embeddedV4(ip as ipaddr.IPv6, (ip as ipaddr.IPv6).range());
    if (embedded) candidates.push(embedded.v4);
  }
  return candidates.some((c) => list.ranges.some(([net, bits]) => net.kind() === c.kind() && c.match(net, bits)));
}

function refusalOf(host: string, address: string, list: AllowList): string | null {
  const verdict = classifyAddress(address);
  if (!verdict) return null;
  const who = `${host}${host === address ? '' : ` (${address})`}`;
  if (verdict.never) return `Connections to ${who} are not allowed: ${verdict.kind} address, which transports never connect to`;
  if (list.names.has(host.toLowerCase().replace(/\.$/, '')) || listed(address, list)) return null;
  return `Connections to ${who} are not allowed: ${verdict.kind} address; an administrator can list it in TRANSPORT_ALLOW_HOSTS`;
}

/**
 * For validation on save: why a literal IP host can never be reached under this allow list, or null (host names
 * are judged when the delivery resolves them, since their addresses can change).
 */
export function literalRefusal(host: string, allowList: readonly string[]): string | null {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare.split('%')[0]!)) return refusalOf(bare, bare, compile(allowList));
  // `2130706433`, `0x7f.1`, `0177.0.0.1` are IPv4 literals to the resolver too; the URL parser gives their dotted form.
  const probe = `http://${bare}/`;
  const dotted = !bare.includes(':') && URL.canParse(probe) ? new URL(probe).hostname : '';
  if (dotted === bare.toLowerCase() || isIP(dotted) !== 4) return null;
  const why = refusalOf(dotted, dotted, compile(allowList));
  return why && `${host} is the address ${dotted}. ${why}`;
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
    if (refusal) throw new DestinationRefused(refusal);
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
