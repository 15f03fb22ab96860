import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { apiError, invalidValue, isAppError } from '../errors.js';
import { permanentError } from './failure.js';
import type { Transport } from './transport.js';
import { parseWith, refuseLiteralHost } from './validation.js';

/** Stored shape: the URL as given plus any options the URL cannot carry (keys, fingerprints, regions…). */
export type UrlOptions = { url: string } & Record<string, unknown>;

const SCHEMES: Record<string, string> = {
  'sftp:': 'sftp',
  'ftp:': 'ftp',
  'ftps:': 'ftp',
  's3:': 's3',
  'file:': 'directory',
};

/** Options each scheme's URL may be completed with. */
const EXTRA_OPTIONS: Record<string, string[]> = {
  sftp: ['username', 'password', 'private_key', 'host_fingerprint', 'port'],
  ftp: ['username', 'password', 'secure', 'port'],
  s3: ['endpoint', 'region', 'access_key_id', 'secret_access_key', 'force_path_style'],
  directory: [],
};

const baseSchema = z.looseObject({ url: z.string().min(1).max(4096) });

/** Percent-decoding that answers a 400 for a broken escape (`%zz`) instead of a URIError (500). */
function decoder(at: string) {
  return (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw invalidValue(at, `Attribute ${at} has an invalid percent-encoding`);
    }
  };
}

/**
 * The seeds' `export_location` form puts the URL beside the type: `{"type": "url", "url": "ftp://…"}`. It is
 * accepted and stored as `options.url`, the one stored shape; an entry giving both is ambiguous and refused.
 * Returns the entry unchanged when it is not in that form.
 */
export function liftSeedUrl(item: unknown): unknown {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
  const entry = item as Record<string, unknown>;
  if (entry.type !== 'url' || !Object.hasOwn(entry, 'url')) return item;
  const { url, ...rest } = entry;
  const options = rest.options;
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) return item;
  if (options && Object.hasOwn(options, 'url')) return item; // both given: the registry refuses the top-level url
  return { ...rest, options: { ...(options as object | undefined), url } };
}

/**
 * Splits an `export_location` URL into the target type's options:
 * - `sftp://user:pass@host:port/abs/path` (curl's convention: `/~/dir` is relative to the login's home);
 * - `ftp://…/dir` is relative to the login folder (RFC 1738), `ftp://…/%2Fdir` absolute; `ftps://` = explicit TLS;
 * - `s3://[key:secret@]bucket/prefix`; `file:///abs/path` → `directory`.
 */
export function parseLocationUrl(raw: string, at: string): { type: string; options: Record<string, unknown> } {
  const decode = decoder(at);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidValue(at, `Attribute ${at} must be a URL`);
  }
  const type = SCHEMES[url.protocol];
  if (!type) throw invalidValue(at, `Attribute ${at} must be an sftp, ftp, ftps, s3 or file URL`);
  if (url.search || url.hash) throw invalidValue(at, `Attribute ${at} must not have a query or fragment`);
  const creds: Record<string, unknown> = {};
  if (url.username) creds.username = decode(url.username);
  if (url.password) creds.password = decode(url.password);
  const port = url.port ? { port: Number(url.port) } : {};
  const host = url.hostname.replace(/^\[|\]$/g, '');
  switch (type) {
    case 'sftp': {
      const p = decode(url.pathname);
      return {
        type,
        options: { host, ...port, ...creds, path: p.startsWith('/~/') ? p.slice(3) : p === '/~' ? '' : p },
      };
    }
    case 'ftp': {
      const p = url.pathname.replace(/^\//, '');
      return {
        type,
        options: {
          host,
          ...port,
          ...creds,
          path: decode(p),
          ...(url.protocol === 'ftps:' ? { secure: 'explicit' } : {}),
        },
      };
    }
    case 's3': {
      const keys: Record<string, unknown> = {};
      if (creds.username) keys.access_key_id = creds.username;
      if (creds.password) keys.secret_access_key = creds.password;
      return { type, options: { bucket: host, prefix: decode(url.pathname.replace(/^\/+/, '')), ...keys } };
    }
    default: {
      if (url.host) throw invalidValue(at, `Attribute ${at} must be a local file:/// URL`);
      try {
        return { type, options: { path: fileURLToPath(url) } };
      } catch {
        throw invalidValue(at, `Attribute ${at} must be a file:/// URL of a local path`); // e.g. an encoded "/"
      }
    }
  }
}

/** `url`: the seeds' `export_location` form, dispatched to the transport of its scheme. */
export function createUrlTransport(
  targets: (type: string) => Transport<any> | undefined,
  allowHosts: readonly string[],
): Transport<UrlOptions> {
  const resolve = (o: UrlOptions, path: string) => {
    const { url, ...extra } = o;
    const parsed = parseLocationUrl(url, `${path}.url`);
    if (typeof parsed.options.host === 'string') refuseLiteralHost(parsed.options.host, allowHosts, `${path}.url`);
    const allowed = EXTRA_OPTIONS[parsed.type] ?? [];
    for (const key of Object.keys(extra)) {
      const attr = `${path}.${key}`;
      if (!allowed.includes(key))
        throw apiError('attribute_not_accepted', `Attribute ${attr} is not accepted`, { path: attr });
      if (key in parsed.options) throw invalidValue(attr, `Attribute ${attr} is already given in the URL`);
    }
    const target = targets(parsed.type);
    if (!target) throw invalidValue(`${path}.url`, `Transport type ${parsed.type} is not available`);
    return { target, options: target.validate({ ...parsed.options, ...extra }, path) };
  };

  return {
    type: 'url',
    optionsSchema: baseSchema,
    secretOptions: ['url', 'password', 'private_key', 'secret_access_key'],
    validate(options, path) {
      const o = parseWith(baseSchema, options, path) as UrlOptions;
      resolve(o, path);
      return o;
    },
    // The target's destination (host, port, username … wherever they were given, URL or options) and its type.
    destination(o) {
      const { target, options } = resolve(o, 'options');
      return { type: target.type, ...(target.destination?.(options) as object | undefined) };
    },
    hosts(o) {
      const { target, options } = resolve(o, 'options');
      return target.hosts(options);
    },
    async deliver(o, ctx) {
      let resolved: ReturnType<typeof resolve>;
      try {
        resolved = resolve(o, 'options');
      } catch (err) {
        // Valid when saved, refused now (TRANSPORT_ALLOW_HOSTS or the directory roots changed): no retry can help.
        if (!isAppError(err)) throw err;
        throw permanentError(err.message.replace(/^Attribute [^:]+: /, ''));
      }
      await resolved.target.deliver(resolved.options, ctx);
    },
  };
}
