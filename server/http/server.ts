import { createServer, type Server } from 'node:http';
import type Koa from 'koa';
import type { Config } from '../config.js';

/**
 * The HTTP server with timeouts that stop slow or silent clients from holding connections (R-ROB-8), without cutting
 * transfers that make progress. Node's semantics, which the figures rely on:
 * - `headersTimeout` (HTTP_HEADERS_TIMEOUT, 20 s): the request line and headers must arrive within it (slowloris).
 * - `requestTimeout` (HTTP_REQUEST_TIMEOUT, 1 h): the whole request, body included, must arrive within it. It ends
 *   when the request is received, so it never applies to the response: a download may take as long as it takes.
 *   It bounds uploads, hence the generous default (UPLOAD_LIMIT's 1 GiB at ~2.5 Mbit/s).
 * - `keepAliveTimeout` (HTTP_KEEP_ALIVE_TIMEOUT, 5 s): an idle kept-alive connection is closed after it.
 * - socket idle timeout (HTTP_IDLE_TIMEOUT, 2 min): a connection on which no byte moves either way for this long is
 *   destroyed (a client that stops reading a download, or stops sending a body). Every chunk resets it.
 * Node enforces the first two on a sweep every `connectionsCheckingInterval`, so that is kept well below them.
 */
export function createHttpServer(app: Koa, config: Config): Server {
  const headersTimeout = config.HTTP_HEADERS_TIMEOUT;
  // Node requires requestTimeout >= headersTimeout (0 would mean none; never configured so here).
  const requestTimeout = Math.max(config.HTTP_REQUEST_TIMEOUT, headersTimeout);
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT,
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(headersTimeout / 4))),
    },
    app.callback(),
  );
  // Without a 'timeout' listener Node destroys the idle socket, which is what we want.
  server.setTimeout(config.HTTP_IDLE_TIMEOUT);
  return server;
}
