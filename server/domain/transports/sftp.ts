import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ssh2, { type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { z } from 'zod';
import { checkHostAllowed } from './allow-hosts.js';
import { cancelled, onAbort, toTransportError, TransportError } from './failure.js';
import { ancestorsOf, deliveryOrder, foldersOf, partPath, runFolder } from './layout.js';
import type { DeliveryContext, Transport } from './transport.js';
import { hostSchema, parseWith, portSchema, refuseLiteralHost, remotePathSchema } from './validation.js';

// ssh2 is CommonJS and Node's ESM loader cannot see its `utils` export by name (`npm start` under tsx fails with
// "does not provide an export named 'utils'"), so take both from the default export.
const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

export interface SftpOptions {
  host: string;
  port: number;
  username: string;
  password?: string;
  private_key?: string;
  path: string;
  host_fingerprint?: string;
}

export interface SftpDeps {
  allowHosts: readonly string[];
  /** Handshake + login timeout; tests shorten it. */
  readyTimeoutMs?: number;
}

/** The fingerprint OpenSSH prints (`ssh-keygen -lf`): SHA-256 of the raw public key blob, base64 without padding. */
export const sshFingerprint = (rawKey: Buffer): string =>
  `SHA256:${createHash('sha256').update(rawKey).digest('base64').replace(/=+$/, '')}`;

const schema = z
  .strictObject({
    host: hostSchema,
    port: portSchema.default(22),
    username: z.string().min(1).max(256),
    password: z.string().min(1).max(1024).optional(),
    private_key: z
      .string()
      .min(1)
      .max(16384)
      // Checked here so a broken key is a 400 at save time, not a failure at 3 a.m.; the message never shows the key.
      .refine(
        (k) => !(utils.parseKey(k) instanceof Error),
        'must be an unencrypted private key in OpenSSH or PEM format',
      )
      .optional(),
    path: remotePathSchema.default(''),
    host_fingerprint: z
      .string()
      .trim()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must be a SHA256 fingerprint as OpenSSH prints it (SHA256:…)')
      .transform((f) => f.replace(/=$/, ''))
      .optional(),
  })
  .refine((o) => o.password !== undefined || o.private_key !== undefined, {
    message: 'needs password or private_key',
    path: ['password'],
  });

const sftpCall = <T = void>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

/** SSH_FX_NO_SUCH_FILE */
const isMissing = (err: unknown) => (err as { code?: unknown })?.code === 2;

interface Session {
  client: Client;
  sftp: SFTPWrapper;
  closed: boolean;
  /** Rejects when the connection goes away: ssh2 leaves requests in flight pending forever when the socket dies. */
  lost: Promise<never>;
}

const connectionLost = () => Object.assign(new Error('connection lost'), { code: 'ECONNRESET' });

/** Races an SFTP operation against the loss of its connection. */
const live = <T>(s: Session, p: Promise<T>): Promise<T> => Promise.race([p, s.lost]);

/**
 * `sftp`, built on the ssh2 client directly (rather than ssh2-sftp-client) so that host-key checking, abort and
 * cleanup stay in our hands. Connects to the address the allow-host check returned (no second DNS lookup).
 *
 * Host keys: with `host_fingerprint` the key must match (else the transport fails before sending credentials).
 * Without it the key is accepted and its fingerprint logged, so the owner can copy it into `host_fingerprint`;
 * pinning automatically on first use would need state the transport does not own (the lead may add it).
 */
export function createSftpTransport(deps: SftpDeps): Transport<SftpOptions> {
  const readyTimeout = deps.readyTimeoutMs ?? 20_000;

  async function connect(o: SftpOptions, address: string, ctx: DeliveryContext): Promise<Session> {
    const client = new Client();
    let seen: string | undefined;
    const session: Session = { client, sftp: undefined as unknown as SFTPWrapper, closed: false, lost: null as never };
    const config: ConnectConfig = {
      host: address,
      port: o.port,
      username: o.username,
      password: o.password,
      privateKey: o.private_key,
      readyTimeout,
      hostVerifier: (key: Buffer) => {
        seen = sshFingerprint(key);
        return o.host_fingerprint === undefined || seen === o.host_fingerprint;
      },
    };
    const stopAbort = onAbort(ctx.signal, () => client.destroy());
    try {
      session.sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
        client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
        client.once('close', () => reject(new Error('connection closed')));
        client.on('error', reject);
        client.connect(config);
      });
    } catch (err) {
      client.destroy();
      if (ctx.signal.aborted) throw cancelled('SFTP');
      if (o.host_fingerprint !== undefined && seen !== undefined && seen !== o.host_fingerprint) {
        throw new TransportError(
          `SFTP server ${o.host} presented host key ${seen}, but ${o.host_fingerprint} was expected; the connection was refused`,
          { cause: err },
        );
      }
      if ((err as { level?: string }).level === 'client-authentication') {
        throw new TransportError(`SFTP login to ${o.host} failed: authentication rejected`, { cause: err });
      }
      throw toTransportError(err, `SFTP connection to ${o.host}:${o.port} failed`, ctx.signal, 'SFTP', []);
    } finally {
      stopAbort();
    }
    session.lost = new Promise<never>((_, reject) =>
      client.on('close', () => {
        session.closed = true;
        reject(connectionLost());
      }),
    );
    session.lost.catch(() => {});
    if (o.host_fingerprint === undefined) {
      ctx.log('sftp host key accepted without host_fingerprint', { host: o.host, fingerprint: seen });
    }
    return session;
  }

  async function mkdirs(s: Session, dirs: string[], created: string[]): Promise<void> {
    for (const dir of dirs) {
      try {
        await live(
          s,
          sftpCall((cb) => s.sftp.stat(dir, (err) => cb(err))),
        );
      } catch (err) {
        if (!isMissing(err)) throw err;
        await live(
          s,
          sftpCall((cb) => s.sftp.mkdir(dir, cb)),
        );
        created.push(dir);
      }
    }
  }

  async function upload(
    session: Session,
    ctx: DeliveryContext,
    remote: string,
    open: () => Promise<NodeJS.ReadableStream>,
  ) {
    const ws = session.sftp.createWriteStream(remote);
    const closed = once(ws, 'close');
    closed.catch(() => {});
    const kill = () => (ws as unknown as Writable).destroy(connectionLost());
    session.client.once('close', kill);
    try {
      await live(session, pipeline(await open(), ws, { signal: ctx.signal }));
      // The handle is closed after 'finish'; renaming before the CLOSE reply could race on some servers.
      await live(session, closed);
    } finally {
      session.client.off('close', kill);
    }
  }

  async function rename(s: Session, from: string, to: string): Promise<void> {
    try {
      await live(
        s,
        sftpCall((cb) => s.sftp.rename(from, to, cb)),
      );
    } catch (err) {
      if (s.closed) throw err;
      // SFTPv3 rename refuses an existing target: a retried attempt may find the previous attempt's file.
      await live(
        s,
        sftpCall((cb) => s.sftp.unlink(to, cb)),
      ).catch(() => {});
      await live(
        s,
        sftpCall((cb) => s.sftp.rename(from, to, cb)),
      ).catch(() => {
        throw err;
      });
    }
  }

  async function cleanup(
    session: Session | null,
    o: SftpOptions,
    address: string,
    ctx: DeliveryContext,
    files: string[],
    dirs: string[],
  ) {
    if (ctx.signal.aborted || (files.length === 0 && dirs.length === 0)) return;
    const quiet = new AbortController().signal;
    let s = session && !session.closed ? session : null;
    try {
      s ??= await connect(o, address, { ...ctx, signal: quiet, log: () => {} });
      const c = s;
      for (const f of [...files].reverse())
        await live(
          c,
          sftpCall((cb) => c.sftp.unlink(f, cb)),
        ).catch(() => {});
      for (const d of [...dirs].reverse())
        await live(
          c,
          sftpCall((cb) => c.sftp.rmdir(d, cb)),
        ).catch(() => {});
      ctx.log('sftp partial delivery removed', { files: files.length });
    } catch {
      ctx.log('sftp cleanup failed; partial files may remain', { host: o.host });
    } finally {
      s?.client.end();
    }
  }

  return {
    type: 'sftp',
    optionsSchema: schema,
    secretOptions: ['password', 'private_key'],
    validate(options, path) {
      const o = parseWith(schema, options, path) as SftpOptions;
      refuseLiteralHost(o.host, deps.allowHosts, `${path}.host`);
      return o;
    },
    // The pinned host key is part of it: dropping the pin would let a server impersonating the host receive the key.
    destination: (o) => ({
      host: o.host.toLowerCase(),
      port: o.port,
      username: o.username,
      host_fingerprint: o.host_fingerprint ?? null,
    }),
    hosts: (o) => [o.host],
    async deliver(o, ctx) {
      const secrets = [o.password, o.private_key];
      const address = await checkHostAllowed(o.host, deps.allowHosts);
      const base = runFolder(o.path, ctx);
      const files = deliveryOrder(ctx.files);
      const written: string[] = [];
      const createdDirs: string[] = [];
      let session: Session | null = null;
      try {
        session = await connect(o, address, ctx);
        const s = session;
        const stopAbort = onAbort(ctx.signal, () => s.client.destroy());
        try {
          await mkdirs(s, ancestorsOf(base), createdDirs);
          await mkdirs(
            s,
            foldersOf(files).map((d) => `${base}/${d}`),
            createdDirs,
          );
          for (const file of files) {
            if (ctx.signal.aborted) throw cancelled('SFTP');
            const temp = `${base}/${partPath(file.path)}`;
            const final = `${base}/${file.path}`;
            written.push(temp);
            await upload(s, ctx, temp, () => file.open(ctx.signal));
            written.push(final);
            await rename(s, temp, final);
          }
        } finally {
          stopAbort();
        }
        ctx.log('sftp delivery finished', { host: o.host, path: base, files: files.length });
      } catch (err) {
        // Only the folders this attempt created (run folder and below) are removed; shared parents stay.
        const ours = createdDirs.filter((d) => d === base || d.startsWith(`${base}/`));
        await cleanup(session, o, address, ctx, written, ours);
        throw toTransportError(err, `SFTP upload to ${o.host} failed`, ctx.signal, 'SFTP', secrets);
      } finally {
        session?.client.end();
      }
    },
  };
}
