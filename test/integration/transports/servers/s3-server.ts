import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

// s3rver ships no type declarations; only its constructor, configureBuckets() and callback() are used.
const S3rver = createRequire(import.meta.url)('s3rver') as new (
  options: Record<string, unknown>,
) => {
  configureBuckets(): Promise<void>;
  callback(): (req: unknown, res: unknown) => void;
};

export interface S3TestServer {
  endpoint: string;
  /** Keys whose object was completed (PUT or CompleteMultipartUpload), in order; `multipart:<key>` for the latter. */
  events: string[];
  /** `METHOD path?query` of every request, in arrival order. */
  requests: string[];
  close(): Promise<void>;
}

/** s3rver mounted in our own http server, so requests can be observed in the order the server completed them. */
export async function startS3Server(
  directory: string,
  bucket: string,
  /** Sees each request first; returning true means it answered (or stalls) the request itself. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<S3TestServer> {
  const s3 = new S3rver({ directory, silent: true, configureBuckets: [{ name: bucket }] });
  await s3.configureBuckets();
  const handler = s3.callback();
  const events: string[] = [];
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (intercept?.(req, res)) return;
    res.on('finish', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const key = decodeURIComponent(url.pathname.split('/').slice(2).join('/'));
      if (res.statusCode >= 300) return;
      if (req.method === 'PUT' && !url.searchParams.has('uploadId')) events.push(key);
      if (req.method === 'POST' && url.searchParams.has('uploadId')) events.push(`multipart:${key}`);
    });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    events,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
