import { Transform } from 'node:stream';
import { FileSystem, FtpSrv, type FtpConnection } from 'ftp-srv';
import { freePort } from '../helpers.js';

export interface FtpTestServer {
  port: number;
  /** `rename:<to>` events in order, as the client sees paths. */
  events: string[];
  logins: number;
  close(): Promise<void>;
}

export interface FtpServerOptions {
  root: string;
  username: string;
  password: string;
  tls?: { key: string; cert: string };
  implicit?: boolean;
  /** Destroys the first login's control socket once this many bytes were stored. */
  dropAfterBytes?: number;
}

/** ftp-srv serving `root`; a FileSystem subclass records completed renames and can cut a connection mid-upload. */
export async function startFtpServer(o: FtpServerOptions): Promise<FtpTestServer> {
  const port = await freePort();
  const events: string[] = [];
  let logins = 0;
  const silent = {
    info() {},
    debug() {},
    trace() {},
    warn() {},
    error() {},
    child() {
      return silent;
    },
  };
  const server = new FtpSrv({
    url: `${o.implicit ? 'ftps' : 'ftp'}://127.0.0.1:${port}`,
    pasv_url: '127.0.0.1',
    pasv_min: 40000,
    pasv_max: 49999,
    tls: o.tls ? { key: o.tls.key, cert: o.tls.cert } : false,
    greeting: 'test server',
    log: silent,
  });

  class RecordingFs extends FileSystem {
    written = 0;
    constructor(
      connection: FtpConnection,
      private readonly login: number,
    ) {
      super(connection, { root: o.root, cwd: '/' });
    }
    override write(fileName: string, options?: { append?: boolean; start?: unknown }) {
      const target = super.write(fileName, options) as { stream: NodeJS.WritableStream; clientPath: string };
      if (o.dropAfterBytes === undefined || this.login !== 1) return target;
      const counter = new Transform({
        transform: (chunk: Buffer, _enc, cb) => {
          this.written += chunk.length;
          if (this.written >= o.dropAfterBytes!) {
            // A network failure mid-upload: both sockets just go away.
            const conn = this.connection as unknown as {
              commandSocket: { destroy(): void };
              connector?: { dataSocket?: { destroy(): void } };
            };
            conn.connector?.dataSocket?.destroy();
            conn.commandSocket.destroy();
            return cb();
          }
          cb(null, chunk);
        },
      });
      counter.pipe(target.stream as NodeJS.WritableStream);
      return { stream: counter, clientPath: target.clientPath };
    }
    override async rename(from: string, to: string) {
      const result = await super.rename(from, to);
      events.push(`rename:${to}`);
      return result;
    }
  }

  server.on('login', ({ connection, username, password }, resolve, reject) => {
    if (username !== o.username || password !== o.password) return reject(new Error('bad login'));
    logins++;
    resolve({ fs: new RecordingFs(connection, logins) });
  });
  server.on('client-error', () => {});
  await server.listen();
  return {
    port,
    events,
    get logins() {
      return logins;
    },
    close: async () => {
      await server.close();
    },
  };
}
