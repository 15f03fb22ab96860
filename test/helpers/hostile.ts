import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { expect } from 'chai';
import fc from 'fast-check';

/**
 * Generators of hostile HTTP input for the property tests of R-ROB-2 (issue 9): strings with NUL and lone surrogates,
 * `__proto__` keys, huge and odd numbers, deep nesting, invalid UTF-8 bytes, encoded separators, bad Range headers.
 */

export interface HostileRequest {
  method: string;
  /** Sent byte for byte: no client-side normalisation of `..`, `%2e` or `%00`. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface HostileResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export const send = (server: Server, req: HostileRequest): Promise<HostileResponse> =>
  new Promise((resolve, reject) => {
    const { port } = server.address() as AddressInfo;
    const headers = { ...req.headers, ...(req.body ? { 'Content-Length': String(req.body.length) } : {}) };
    const r = http.request({ host: '127.0.0.1', port, path: req.path, method: req.method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    // A server that answers early (413) may close while the body is still being written: keep the answer.
    r.on('error', reject);
    r.end(req.body);
  });

const char = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCharCode(c));

/** Lone surrogates and NUL, alone or inside other text. */
const brokenText = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\udfff', '\ud800', 'x\ud800y', '\udc00\ud800', '\u0000\udfff'),
  fc.string({ unit: char(0xd800, 0xdfff), minLength: 1, maxLength: 3 }),
  fc.tuple(fc.string({ maxLength: 5 }), fc.constantFrom('\u0000', '\ud83d', '\ude00'), fc.string({ maxLength: 5 })).map((p) => p.join('')),
);

export const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
  { weight: 4, arbitrary: brokenText },
  {
    weight: 3,
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', '', ' ', '../../etc/passwd', '..', '/', '\\',
      '%2F', '%2E%2E', '\u202e', 'photo.title', '_id', 'Europe/Berlin', '* * * * *', 'true', '1e21', 'a'.repeat(300)),
  },
  // Almost URLs: what `z.url()` lets through to code that calls `new URL()` again, and what it refuses.
  {
    weight: 2,
    arbitrary: fc.constantFrom('http://[', 'https://', 'http://a b', 'http://x:99999', 'http://[::1', 'http://%zz',
      'http://user@', 'http://[fe80::1%25eth0]/', 'ftp://', 's3://', 'file:///', 'sftp://u:p@h:0/x', 'http://0x7f.1'),
  },
  { weight: 1, arbitrary: fc.constant('x'.repeat(1 << 20)) },
);

/** Raw number tokens JSON.parse accepts but JS cannot hold exactly (1e400 is Infinity). */
const RAW = '\u0001RAW:';
const rawNumber = fc.constantFrom('1e400', '-1e400', '1e21', '-1e21', '1e22', '123456789012345678901234567890', '-0',
  '0.1e-400', '9007199254740993', '1E+2').map((n) => `${RAW}${n}\u0001`);
export const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 1.5, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e308, -1e308, 5e-324),
);

export const hostileKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '_id', '_version', 'name',
    'type', 'search', 'export', 'photo', 'options', 'url', 'host', 'fields', 'from', 'to', 'in', 'string', 'cron') },
  { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: brokenText },
);

/** Builds an object whose keys may include `__proto__` as an own, enumerable property (as JSON.parse makes it). */
const objectOf = (entries: [string, unknown][]) => {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
  return o;
};

export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    hostileString,
    hostileNumber,
    rawNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 4 }).map(objectOf),
  ),
})).value;

/** JSON text of a value; raw number markers become the raw tokens. Lone surrogates become `\udXXX` escapes. */
export const toJson = (v: unknown): string =>
  JSON.stringify(v).replace(/"\\u0001RAW:([^"\\]*)\\u0001"/g, '$1');

/** Replaces the value at a random path of `template` with a hostile value (or adds a hostile key). */
export const mutate = (template: unknown): fc.Arbitrary<unknown> => {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, p: (string | number)[]) => {
    paths.push(p);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], [...p, i]);
    } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(template, []);
  return fc.tuple(fc.constantFrom(...paths), hostileValue, fc.option(hostileKey, { nil: undefined })).map(([path, value, key]) => {
    const copy = structuredClone(template) as Record<string | number, unknown>;
    if (path.length === 0) return value;
    let parent: Record<string | number, unknown> = copy;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    if (key !== undefined && parent[last] && typeof parent[last] === 'object' && !Array.isArray(parent[last])) {
      Object.defineProperty(parent[last], key, { value, enumerable: true, configurable: true, writable: true });
    } else parent[last] = value;
    return copy;
  });
};

const deep = fc
  .tuple(fc.integer({ min: 100, max: 200_000 }), fc.constantFrom('[', '{"a":'), fc.constantFrom('', '{"export":', '[{"_objecttype":"photo","photo":{"a":'))
  .map(([n, open, prefix]) => {
    const close = open === '[' ? ']' : '}';
    const tail = prefix === '' ? '' : prefix.startsWith('[') ? '}}]' : '}';
    return Buffer.from(prefix + open.repeat(n) + (open === '[' ? '' : '1') + close.repeat(n) + tail);
  });

/** Bytes that are not UTF-8 (alone or inside a JSON string). */
const invalidUtf8 = fc
  .tuple(fc.constantFrom('{"export":{"name":"', '[{"_objecttype":"photo","photo":{"t":"', '{"login":"'), fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom([0xff], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xe2, 0x82]))
  .map(([head, random, broken]) => Buffer.concat([Buffer.from(head), Buffer.from(random), Buffer.from(broken), Buffer.from(head.startsWith('[') ? '"}}]' : '"}}')]));

/** A body: JSON of a (mutated) route-shaped template most of the time, sometimes garbage, deep nesting or bad bytes. */
export const hostileBody = (templates: unknown[]): fc.Arbitrary<Buffer | undefined> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...templates).chain(mutate).map((v) => Buffer.from(toJson(v))) },
    { weight: 2, arbitrary: hostileValue.map((v) => Buffer.from(toJson(v))) },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: invalidUtf8 },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

export const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(undefined, 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain',
      'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/xml',
      'application/vnd.api+json', 'garbage', 'application/octet-stream'),
  },
);

/** Percent-encodes every UTF-8 byte (lone surrogates thereby become U+FFFD, as any client would send them). */
const encode = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** Segments as they appear in a URL: mostly encoded strings, sometimes raw hostile encodings. */
export const rawSegment = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }).map(encode) },
  { weight: 2, arbitrary: brokenText.map(encode) },
  {
    weight: 4,
    arbitrary: fc.constantFrom('0', '-1', '1e21', '99999999999999999999', '1.5', '%00', '%2F', '%2f', '%2E%2E', '..', '.',
      '%FF', '%ED%A0%80', '%C0%80', '__proto__', '%', '%zz', '%E0%A4%A', 'a%00b', '%5C', '..%2F..%2Fetc%2Fpasswd',
      'x'.repeat(2000)),
  },
);

export const queryPairs = fc.array(
  fc.tuple(
    fc.oneof(fc.constantFrom('token', 'limit', 'offset', 'filter', 'filename', 'disposition', 'start', 'login', 'password'), rawSegment),
    rawSegment,
  ),
  { maxLength: 4 },
);

/** Printable latin1 (what an HTTP header can carry) plus Range and conditional values that are wrong on purpose. */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 40 });
export const rangeHeader = fc.oneof(
  fc.constantFrom('bytes=abc', 'bytes=99999999999999999999-', 'bytes=-0', 'bytes=5-1', 'bytes=0-1,2-3', `bytes=${'0-1,'.repeat(500)}0-1`,
    'bytes=-99999999999999999999', 'items=0-1', 'bytes=0-0', 'bytes=1e21-', 'bytes=--1', 'bytes= 0 - 1 '),
  headerText.map((s) => `bytes=${s}`),
  headerText,
);

export const optionalHeaders = fc.record(
  {
    Range: rangeHeader,
    'If-None-Match': fc.oneof(headerText, fc.constant('*')),
    'If-Range': headerText,
    'If-Modified-Since': fc.oneof(headerText, fc.constant('Thu, 01 Jan 2099 00:00:00 GMT')),
    'X-Request-Id': headerText,
    Accept: headerText,
  },
  { requiredKeys: [] },
);

/** docs/errors.md: every error is `{realm, code, description, parameters}` with a code of its realm; never a 500. */
export function expectSpecError(res: HostileResponse, what: string): void {
  expect(res.status, `${what}: ${res.body.toString('utf8').slice(0, 300)}`).to.be.below(500);
  const text = res.body.toString('utf8');
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${what}: ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  expect(Object.keys(body).sort(), what).to.deep.equal(['code', 'description', 'parameters', 'realm']);
  expect(body.realm, what).to.be.oneOf(['api', 'user', 'server']);
  expect(body.code, what).to.match(new RegExp(`^error\\.${String(body.realm)}\\.[a-z_]+$`));
  expect(body.description, what).to.be.a('string').that.is.not.empty;
  expect(body.parameters, what).to.be.an('object');
}
