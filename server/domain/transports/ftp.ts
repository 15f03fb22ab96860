import { isIP } from 'node:net';
import { posix } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Client, FTPError } from 'basic-ftp';
import { z } from 'zod';
import { checkHostAllowed } from './allow-hosts.js';
import { cancelled, onAbort, toTransportError, TransportError } from './failure.js';
import { ancestorsOf, deliveryOrder, foldersOf, partPath, runFolder } from './layout.js';
import type { DeliveryContext, Transport } from './transport.js';
import { hostSchema, parseWith, portSchema, refuseLiteralHost, remotePathSchema } from './validation.js';

export interface FtpOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  path: string;
  secure: false | 'explicit' | 'implicit';
}

export interface FtpDeps {
  allowHosts: readonly string[];
  /** Control-connection timeout in ms; tests shorten it. */
  timeoutMs?: number;
  /** Extra TLS options (tests trust their self-signed CA here; an admin could add a private CA). */
  tls?: ConnectionOptions;
}

const schema = z.strictObject({
  host: hostSchema,
  port: portSchema.optional(),
  username: z.string().min(1).max(256).default('anonymous'),
  password: z.string().max(1024).default(''),
  path: remotePathSchema.default(''),
  secure: z.union([z.literal(false), z.literal('explicit'), z.literal('implicit')]).default(false),
});

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|TLS|SSL/i;

function connectFailure(err: unknown, o: FtpOptions): TransportError | null {
  if (err instanceof FTPError && err.code === 530) {
    return new TransportError(`FTP login to ${o.host} failed: authentication rejected`, { cause: err });
  }
  const code = String((err as { code?: unknown })?.code ?? '');
  if (TLS_CODES.test(code)) {
    return new TransportError(`FTP server ${o.host} presented a TLS certificate that is not trusted (${code})`, {
      cause: err,
    });
  }
  return null;
}

/**
 * `ftp` via basic-ftp. The control connection goes to the address the allow-host check returned, and
 * `allowSeparateTransferHost: false` makes passive data connections use that same address whatever PASV answers,
 * so a hostile server cannot point our data connection at an internal host (FTP bounce). With TLS, `servername` is
 * the configured name so the certificate is still checked against it.
 */
export function createFtpTransport(deps: FtpDeps): Transport<FtpOptions> {
  const timeout = deps.timeoutMs ?? 30_000;

  async function connect(o: FtpOptions, address: string, signal: AbortSignal): Promise<Client> {
    const client = new Client(timeout, { allowSeparateTransferHost: false });
    const stopAbort = onAbort(signal, () => client.close());
    try {
      await client.access({
        host: address,
        port: o.port,
        user: o.username,
        password: o.password,
        secure: o.secure === 'implicit' ? 'implicit' : o.secure === 'explicit',
        secureOptions: { ...deps.tls, ...(isIP(o.host) ? {} : { servername: o.host }) },
      });
      return client;
    } catch (err) {
      client.close();
      if (signal.aborted) throw cancelled('FTP');
      throw (
        connectFailure(err, o) ??
        toTransportError(err, `FTP connection to ${o.host}:${o.port} failed`, signal, 'FTP', [o.password])
      );
    } finally {
      stopAbort();
    }
  }

  /** Creates missing folders one by one (not ensureDir) to know which ones this attempt created. */
  async function mkdirs(client: Client, dirs: string[], created: string[]): Promise<void> {
    for (const dir of dirs) {
      try {
        await client.cd(dir);
      } catch (err) {
        if (!(err instanceof FTPError)) throw err;
        await client.send(`MKD ${dir}`);
        created.push(dir);
      }
    }
  }

  async function cleanup(
    client: Client,
    o: FtpOptions,
    address: string,
    ctx: DeliveryContext,
    files: string[],
    dirs: string[],
  ) {
    if (ctx.signal.aborted || (files.length === 0 && dirs.length === 0)) return;
    let c: Client | null = client.closed ? null : client;
    try {
      c ??= await connect(o, address, new AbortController().signal);
      for (const f of [...files].reverse()) await c.remove(f, true).catch(() => {});
      for (const d of [...dirs].reverse()) await c.send(`RMD ${d}`, true).catch(() => {});
      ctx.log('ftp partial delivery removed', { files: files.length });
    } catch {
      ctx.log('ftp cleanup failed; partial files may remain', { host: o.host });
    } finally {
      c?.close();
    }
  }

  return {
    type: 'ftp',
    optionsSchema: schema,
    secretOptions: ['password'],
    validate(options, path) {
      const parsed = parseWith(schema, options, path);
      refuseLiteralHost(parsed.host, deps.allowHosts, `${path}.host`);
      return { ...parsed, port: parsed.port ?? (parsed.secure === 'implicit' ? 990 : 21) };
    },
    // `secure` is part of it: switching TLS off would send the kept password in clear text.
    destination: (o) => ({ host: o.host.toLowerCase(), port: o.port, username: o.username, secure: o.secure }),
    hosts: (o) => [o.host],
    async deliver(o, ctx) {
      const address = await checkHostAllowed(o.host, deps.allowHosts);
      const files = deliveryOrder(ctx.files);
      const written: string[] = [];
      const createdDirs: string[] = [];
      let client: Client | null = null;
      let base = '';
      try {
        client = await connect(o, address, ctx.signal);
        const c = client;
        const stopAbort = onAbort(ctx.signal, () => c.close());
        try {
          // Absolute paths from here on: basic-ftp's cd() moves the working directory.
          const home = await c.pwd();
          base = posix.resolve(home, runFolder(o.path, ctx));
          await mkdirs(c, ancestorsOf(base), createdDirs);
          await mkdirs(
            c,
            foldersOf(files).map((d) => `${base}/${d}`),
            createdDirs,
          );
          for (const file of files) {
            if (ctx.signal.aborted) throw cancelled('FTP');
            const temp = `${base}/${partPath(file.path)}`;
            const final = `${base}/${file.path}`;
            written.push(temp);
            await c.uploadFrom(await file.open(ctx.signal), temp);
            written.push(final);
            // RNTO replaces an existing target on common servers, so a retried attempt can overwrite.
            await c.rename(temp, final);
          }
        } finally {
          stopAbort();
        }
        ctx.log('ftp delivery finished', { host: o.host, path: base, files: files.length });
      } catch (err) {
        if (client) {
          const ours = createdDirs.filter((d) => d === base || d.startsWith(`${base}/`));
          await cleanup(client, o, address, ctx, written, ours);
        }
        throw toTransportError(err, `FTP upload to ${o.host} failed`, ctx.signal, 'FTP', [o.password]);
      } finally {
        client?.close();
      }
    },
  };
}
