import { timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Connection, type ParsedKey, Server, utils } from 'ssh2';
import { sshFingerprint } from '../../../../server/domain/transports/sftp.js';

const { OPEN_MODE, STATUS_CODE } = utils.sftp;

export interface SftpTestServer {
  port: number;
  fingerprint: string;
  /** Server-side events in order: `rename:<new path>`, `remove:<path>`, `close:<path>`. */
  events: string[];
  connections: number;
  /** File bytes written so far (all connections). */
  readonly bytesWritten: number;
  /** WRITE requests held unanswered since `hold()`: the upload is in progress and stays so. */
  readonly heldWrites: number;
  /** From now on WRITE requests are held (not answered) until `release()`. */
  hold(): void;
  /** Answers the held WRITE requests and stops holding. */
  release(): void;
  close(): Promise<void>;
}

export interface SftpServerOptions {
  root: string;
  username: string;
  password: string;
  /** Public key accepted for key authentication. */
  publicKey?: ParsedKey;
  /** Destroys the socket of the first connection once this many file bytes were written. */
  dropAfterBytes?: number;
}

const flagsOf = (flags: number): string => {
  // Enough of the SFTP open modes for uploads and reads.
  if (flags & OPEN_MODE.WRITE) return flags & OPEN_MODE.EXCL ? 'wx' : flags & OPEN_MODE.APPEND ? 'a' : 'w';
  return 'r';
};

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * A fresh ed25519 host key. ssh2's own generator now and then writes a key its parser refuses ("Malformed OpenSSH
 * private key": 6 of 3,000 here), which failed a suite's set-up in CI: such a key is simply generated again.
 */
function newHostKey() {
  for (let i = 0; ; i++) {
    const hostKey = utils.generateKeyPairSync('ed25519');
    const parsed = utils.parseKey(hostKey.private);
    if (!(parsed instanceof Error)) return { hostKey, parsed: (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey };
    if (i >= 20) throw parsed;
  }
}

/** An ssh2 server whose SFTP subsystem serves `root` (the login's home is `/`). */
export async function startSftpServer(o: SftpServerOptions): Promise<SftpTestServer> {
  const { hostKey, parsed } = newHostKey();
  const events: string[] = [];
  let connections = 0;
  const local = (p: string) => path.join(o.root, path.posix.resolve('/', p));
  const clients = new Set<Connection>();
  let holding = false;
  let bytesWritten = 0;
  const held: (() => void)[] = [];

  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    clients.add(client);
    const connection = ++connections;
    let written = 0;
    client.on('error', () => {});
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      if (ctx.username !== o.username) return ctx.reject();
      if (ctx.method === 'password' && same(ctx.password, o.password)) return ctx.accept();
      if (ctx.method === 'publickey' && o.publicKey && ctx.key.data.equals(o.publicKey.getPublicSSH())) {
        if (!ctx.signature) return ctx.accept();
        if (o.publicKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) return ctx.accept();
      }
      ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          const handles = new Map<number, { fd: number; path: string }>();
          let next = 0;
          const fail = (id: number, err: unknown) =>
            sftp.status(
              id,
              (err as NodeJS.ErrnoException).code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.FAILURE,
            );
          const handleOf = (buf: Buffer) => handles.get(buf.readUInt32BE(0));
          sftp.on('OPEN', (id, filename, flags) => {
            try {
              const h = next++;
              handles.set(h, { fd: fs.openSync(local(filename), flagsOf(flags)), path: filename });
              const buf = Buffer.alloc(4);
              buf.writeUInt32BE(h);
              sftp.handle(id, buf);
            } catch (err) {
              fail(id, err);
            }
          });
          sftp.on('WRITE', (id, handle, offset, data) => {
            if (holding) {
              held.push(() => write(id, handle, offset, data));
              return;
            }
            write(id, handle, offset, data);
          });
          const write = (id: number, handle: Buffer, offset: number, data: Buffer) => {
            const h = handleOf(handle);
            if (!h) return sftp.status(id, STATUS_CODE.FAILURE);
            try {
              fs.writeSync(h.fd, data, 0, data.length, offset);
            } catch (err) {
              // A held write answered after its file was closed (the client went away).
              return fail(id, err);
            }
            written += data.length;
            bytesWritten += data.length;
            if (o.dropAfterBytes !== undefined && connection === 1 && written >= o.dropAfterBytes) {
              // Simulates a network failure mid-upload: no reply, the TCP connection just goes away.
              (client as unknown as { _sock: { destroy(): void } })._sock.destroy();
              return;
            }
            sftp.status(id, STATUS_CODE.OK);
          };
          sftp.on('CLOSE', (id, handle) => {
            const h = handleOf(handle);
            if (!h) return sftp.status(id, STATUS_CODE.FAILURE);
            fs.closeSync(h.fd);
            handles.delete(handle.readUInt32BE(0));
            events.push(`close:${h.path}`);
            sftp.status(id, STATUS_CODE.OK);
          });
          const statOf = (id: number, p: string) => {
            try {
              const s = fs.statSync(local(p));
              sftp.attrs(id, {
                mode: s.mode,
                uid: s.uid,
                gid: s.gid,
                size: s.size,
                atime: s.atimeMs / 1000,
                mtime: s.mtimeMs / 1000,
              });
            } catch (err) {
              fail(id, err);
            }
          };
          sftp.on('STAT', statOf);
          sftp.on('LSTAT', statOf);
          sftp.on('FSTAT', (id, handle) => statOf(id, handleOf(handle)?.path ?? ''));
          sftp.on('SETSTAT', (id) => sftp.status(id, STATUS_CODE.OK));
          sftp.on('FSETSTAT', (id) => sftp.status(id, STATUS_CODE.OK));
          sftp.on('REALPATH', (id, p) => {
            const resolved = path.posix.resolve('/', p);
            sftp.name(id, [{ filename: resolved, longname: resolved, attrs: {} as never }]);
          });
          const run = (id: number, fn: () => void, event?: string) => {
            try {
              fn();
              if (event) events.push(event);
              sftp.status(id, STATUS_CODE.OK);
            } catch (err) {
              fail(id, err);
            }
          };
          sftp.on('MKDIR', (id, p) => run(id, () => fs.mkdirSync(local(p))));
          sftp.on('RMDIR', (id, p) => run(id, () => fs.rmdirSync(local(p)), `rmdir:${p}`));
          sftp.on('REMOVE', (id, p) => run(id, () => fs.unlinkSync(local(p)), `remove:${p}`));
          sftp.on('RENAME', (id, from, to) =>
            run(
              id,
              () => {
                // SFTPv3 semantics: an existing target is an error.
                if (fs.existsSync(local(to))) throw new Error('exists');
                fs.renameSync(local(from), local(to));
              },
              `rename:${to}`,
            ),
          );
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    fingerprint: sshFingerprint(parsed.getPublicSSH()),
    events,
    get connections() {
      return connections;
    },
    get bytesWritten() {
      return bytesWritten;
    },
    get heldWrites() {
      return held.length;
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const answer of held.splice(0)) {
        try {
          answer();
        } catch {
          // The connection of a killed client is gone: nothing to answer.
        }
      }
    },
    close: async () => {
      for (const c of clients) c.end();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
