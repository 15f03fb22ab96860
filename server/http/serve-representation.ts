import { pipeline, type Readable, Transform } from 'node:stream';
import type { Context } from 'koa';
import { stripBidi, wellFormed } from '../domain/file-names.js';
import type { Representation } from '../domain/files/representation.js';
import { planResponse } from './response-plan.js';

/**
 * RFC 6266 / 5987: an ASCII fallback plus the exact UTF-8 name (Koa's attachment() omits filename* for ASCII-less
 * names). Names are made by file-names.ts already; this stays total anyway: bidi controls go, a lone surrogate
 * becomes U+FFFD (encodeURIComponent throws URIError on one), so no name can turn a download into a 500.
 */
export const contentDisposition = (type: 'inline' | 'attachment', rawName: string): string => {
  const fileName = stripBidi(wellFormed(rawName));
  const fallback = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
};

/**
 * Resolves once the stream has its first bytes (or ended): sources are open and the first file checked, so an
 * error here still becomes a proper error response; once bytes flow the status is fixed (STYLE 13). Rejects when
 * the client goes away meanwhile (`signal`), after destroying the stream (which closes its file handles).
 */
const primed = (s: Readable, signal: AbortSignal): Promise<Readable> =>
  new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      s.off('readable', onReadable);
      s.off('error', done);
      signal.removeEventListener('abort', onAbort);
      if (err) {
        s.destroy();
        reject(err);
      } else resolve(s);
    };
    const onReadable = () => done();
    const onAbort = () => done(signal.reason as Error);
    if (signal.aborted) return done(signal.reason as Error);
    s.on('readable', onReadable);
    s.on('error', done);
    signal.addEventListener('abort', onAbort, { once: true });
  });

const ignore = () => {};

/** Where a served body is counted: bytes sent and bodies in flight of its kind (the metrics' labelled children). */
export interface ServedMeter {
  bytes: { inc(n: number): void };
  inFlight: { inc(): void; dec(): void };
}

/**
 * The body as sent, counted: every chunk that passes adds to the bytes served (so a scrape during a long download
 * sees it progress, and an abandoned one counts what went out), and the stream is in flight until it closes. The
 * pipeline destroys the source with the counter, whichever ends first, so file handles are closed on abort too.
 */
function metered(body: Readable, meter: ServedMeter, state: SentBytesState): Readable {
  state.sentBytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      state.sentBytes = (state.sentBytes ?? 0) + chunk.length;
      meter.bytes.inc(chunk.length);
      cb(null, chunk);
    },
  });
  meter.inFlight.inc();
  counter.once('close', () => meter.inFlight.dec());
  pipeline(body, counter, ignore);
  return counter;
}

type SentBytesState = { sentBytes?: number };

/**
 * Nobody is left to answer: Koa must not touch the closed response. 499 (nginx's "client closed request") is only
 * what the request log shows; it is never sent.
 */
const leave = (ctx: Context) => {
  ctx.status = 499;
  ctx.respond = false;
};

/**
 * Serves a Representation as planned by planResponse (conditional requests 304/412, ranges 206/416, HEAD), with
 * exact Content-Length and Content-Disposition. For GET the body is opened (and primed) before any header is sent; a client that goes away
 * aborts the signal at whatever await it is, and the body stream is destroyed (by us, or by Koa once it is the body),
 * which closes every file handle of an archive.
 */
export async function serveRepresentation(
  ctx: Context,
  rep: Representation,
  opts: { disposition?: 'inline' | 'attachment'; cacheControl: string; meter?: ServedMeter },
): Promise<void> {
  ctx.set('Cache-Control', opts.cacheControl);
  ctx.set('X-Content-Type-Options', 'nosniff');
  if (rep.etag) ctx.set('ETag', rep.etag);
  ctx.set('Last-Modified', rep.lastModified.toUTCString());
  ctx.set('Accept-Ranges', rep.size === null ? 'none' : 'bytes');
  const plan = planResponse(
    {
      method: ctx.method,
      ifMatch: ctx.get('if-match'),
      ifNoneMatch: ctx.get('if-none-match'),
      ifModifiedSince: ctx.get('if-modified-since'),
      ifUnmodifiedSince: ctx.get('if-unmodified-since'),
      range: ctx.get('range'),
      ifRange: ctx.get('if-range'),
    },
    rep,
  );
  if (plan.status === 304) {
    ctx.status = 304;
    return;
  }
  // 412 and 416 have empty bodies (docs/errors.md): the client's own validators or Range decide, not an error code.
  if (plan.status === 412 || plan.status === 416) {
    ctx.status = plan.status;
    if (plan.status === 416) ctx.set('Content-Range', plan.contentRange);
    ctx.body = '';
    return;
  }
  const { start, end, length, status } = plan;
  if (plan.status === 206) ctx.set('Content-Range', plan.contentRange);
  if (opts.disposition) ctx.set('Content-Disposition', contentDisposition(opts.disposition, rep.fileName));
  // Scriptable types served from the API origin run sandboxed, so an exported HTML file can't act as the user.
  if (/html|xml|svg/i.test(rep.contentType)) ctx.set('Content-Security-Policy', "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'");
  if (ctx.method === 'HEAD' || length === 0) {
    ctx.status = status;
    ctx.type = rep.contentType;
    if (length !== null) ctx.length = length;
    if (length === 0) ctx.body = Buffer.alloc(0);
    return;
  }
  // The client may already be gone (its 'close' came during the awaits before this point): open nothing.
  if (ctx.res.destroyed) return leave(ctx);
  const controller = new AbortController();
  const { signal } = controller;
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort(new Error('client went away'));
  });
  let body: Readable | Buffer;
  try {
    body = await rep.open(start, end, signal);
    if (!Buffer.isBuffer(body)) {
      // Listened to from here until Koa pipes it (after the middleware chain unwinds): an abort in between
      // destroys it with an error that must not be unhandled. Koa's pipeline still sees every error.
      body.on('error', ignore);
      await primed(body, signal);
    }
  } catch (e) {
    // An abort at any await above surfaces as some error; the sources are closed and nobody is left to tell.
    if (signal.aborted) return leave(ctx);
    throw e;
  }
  if (signal.aborted) {
    if (!Buffer.isBuffer(body)) body.destroy();
    return leave(ctx);
  }
  ctx.status = status;
  if (opts.meter) {
    const state = ctx.state as SentBytesState;
    if (Buffer.isBuffer(body)) {
      opts.meter.bytes.inc(body.length);
      state.sentBytes = body.length;
    } else body = metered(body, opts.meter, state);
  }
  ctx.body = body;
  ctx.type = rep.contentType;
  if (length !== null) ctx.length = length;
}
