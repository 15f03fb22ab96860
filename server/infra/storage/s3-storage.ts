import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  assertSafeKey,
  type ReadOptions,
  type Storage,
  StorageError,
  type StorageObject,
  type StorageStat,
} from './storage.js';

export interface S3StorageOptions {
  /** Custom endpoint (MinIO, Ceph RGW, R2, Garage, s3rver); empty for AWS. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Every key is stored below `<prefix>/` (one bucket can hold several installations). */
  prefix?: string;
  forcePathStyle?: boolean;
  /** Empty: the SDK's default chain (environment, instance role, …). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Size of each ranged GET of a streamed read. */
  readChunk?: number;
  /** Ranged GETs in flight per streamed read (read-ahead), so one download is not bound by one round trip. */
  readParallel?: number;
  /** Multipart part size of writes (S3 minimum 5 MiB) and parts uploaded at once. */
  partSize?: number;
  partQueue?: number;
  /** Connections to the store per process. */
  maxSockets?: number;
  /** SDK attempts per request: throttling (503 SlowDown), 5xx and network errors are retried with back-off. */
  maxAttempts?: number;
  connectTimeoutMs?: number;
  /** A ranged GET that receives no byte for this long is abandoned and fetched again: a stalled connection. */
  stallTimeoutMs?: number;
  /**
   * Idle limit of every other request's socket (uploads, listings, batch deletes). Longer than the GET stall limit:
   * a DeleteObjects of 1,000 keys may legitimately be silent for seconds.
   */
  socketTimeoutMs?: number;
}

/** Slices up to this size are fetched with one GET into a Buffer (archives read many of them ahead in parallel). */
const SMALL_READ = 256 * 1024;
const DELETE_BATCH = 1000;

const isMissing = (e: unknown): boolean => {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404;
};
const isInvalidRange = (e: unknown): boolean => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'InvalidRange' || err?.$metadata?.httpStatusCode === 416;
};

const abortError = (signal: AbortSignal): Error =>
  Object.assign(new Error('The read was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });

/** Total object size from `Content-Range: bytes a-b/total`. */
const totalOf = (contentRange: string | undefined, fallback: number): number => {
  const m = /\/(\d+)\s*$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : fallback;
};

/**
 * Storage in an S3-compatible bucket (R-SCALE-1). Writes are one PUT or a multipart upload (@aws-sdk/lib-storage),
 * both atomic: an object appears only when complete, and a failed or aborted upload is aborted, leaving nothing.
 * Reads are ranged GETs of `readChunk` bytes with `readParallel` in flight, each fetched whole into memory as soon
 * as it is requested (so no connection sits half-read behind a slow client) and handed out in order.
 */
export class S3Storage implements Storage {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly readChunk: number;
  private readonly readParallel: number;
  private readonly partSize: number;
  private readonly partQueue: number;
  private readonly stallTimeoutMs: number;
  private readonly agent: HttpAgent;
  /** Set once a store answered DeleteObjects with "not implemented": single deletes from then on. */
  private noBatchDelete = false;

  constructor(o: S3StorageOptions) {
    this.bucket = o.bucket;
    this.prefix = (o.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.readChunk = o.readChunk ?? 1024 * 1024;
    this.readParallel = Math.max(1, o.readParallel ?? 4);
    this.partSize = Math.max(o.partSize ?? 8 * 1024 * 1024, 5 * 1024 * 1024);
    this.partQueue = o.partQueue ?? 3;
    this.stallTimeoutMs = o.stallTimeoutMs ?? 30_000;
    const maxSockets = o.maxSockets ?? 128;
    const https = o.endpoint ? o.endpoint.startsWith('https:') : true;
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets })
      : new HttpAgent({ keepAlive: true, maxSockets });
    this.client = new S3Client({
      region: o.region,
      endpoint: o.endpoint || undefined,
      forcePathStyle: o.forcePathStyle ?? false,
      ...(o.accessKeyId
        ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey ?? '' } }
        : {}),
      maxAttempts: o.maxAttempts ?? 5,
      retryMode: 'standard',
      // Many S3-compatible servers reject the newer SDK's default aws-chunked CRC32 trailers.
      ...(o.endpoint
        ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
        : {}),
      requestHandler: {
        ...(https ? { httpsAgent: this.agent as HttpsAgent } : { httpAgent: this.agent }),
        connectionTimeout: o.connectTimeoutMs ?? 10_000,
        socketTimeout: o.socketTimeoutMs ?? 120_000,
      },
    });
  }

  /** Sockets open to the store (in use or idle): the shared suite checks that a cancelled read gives its back. */
  socketsInUse(): number {
    return Object.values(this.agent.sockets).reduce((n, list) => n + (list?.length ?? 0), 0);
  }

  private full(key: string): string {
    assertSafeKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.agent.destroy();
  }

  /**
   * One ranged GET read whole into memory. Errors in the body phase (a reset, a stall) are retried here with
   * back-off: the SDK retries only until the response headers.
   */
  private async getRange(
    key: string,
    start: number,
    end: number,
    signal: AbortSignal,
  ): Promise<{ body: Buffer; total: number }> {
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      try {
        return await this.getRangeOnce(key, start, end, signal);
      } catch (e) {
        if (signal.aborted) throw abortError(signal);
        if (isMissing(e) || isInvalidRange(e) || attempt >= 3 || e instanceof StorageError) throw e;
        const name = (e as Error)?.name;
        const transient =
          name === 'StallError' ||
          name === 'TimeoutError' ||
          /ECONNRESET|EPIPE|socket hang up|aborted|premature/i.test(String((e as Error)?.message));
        if (!transient) throw e;
        await sleep(100 * 2 ** attempt, undefined, { signal }).catch(() => {});
      }
    }
  }

  private async getRangeOnce(
    key: string,
    start: number,
    end: number,
    signal: AbortSignal,
  ): Promise<{ body: Buffer; total: number }> {
    const request = new AbortController();
    const stop = () => request.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    let stalled = false;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        request.abort(new Error('stalled'));
      }, this.stallTimeoutMs);
    };
    arm();
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.full(key), Range: `bytes=${start}-${end}` }),
        { abortSignal: request.signal },
      );
      const stream = r.Body as Readable;
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        const fail = (e: unknown) => {
          stream.destroy();
          reject(e);
        };
        if (request.signal.aborted) return fail(request.signal.reason);
        request.signal.addEventListener('abort', () => fail(request.signal.reason), { once: true });
        stream.on('data', (c: Buffer) => {
          arm();
          chunks.push(c);
        });
        stream.on('error', fail);
        stream.on('end', resolve);
      });
      const buffer = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      // Some S3-compatible servers (s3rver) read `bytes=0-0` as `bytes=0-`: never hand out more than was asked.
      const body = buffer.length > end - start + 1 ? buffer.subarray(0, end - start + 1) : buffer;
      return { body, total: totalOf(r.ContentRange, buffer.length) };
    } catch (e) {
      if (stalled)
        throw Object.assign(new Error(`S3 GET ${key}: no byte for ${this.stallTimeoutMs} ms`, { cause: e }), {
          name: 'StallError',
        });
      throw e;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }
  }

  /** First chunk of a read: missing and size checks happen here, before any byte is handed out. */
  private async first(key: string, start: number, end: number, opts: ReadOptions, signal: AbortSignal) {
    let got: { body: Buffer; total: number };
    try {
      // An empty object has no byte to range over (stores answer 416, or worse): its size is all there is.
      if (opts.expectedSize === 0) throw Object.assign(new Error('empty'), { name: 'InvalidRange' });
      got = await this.getRange(key, start, end, signal);
    } catch (e) {
      if (isMissing(e)) throw new StorageError('ENOENT', `${key} is not in storage`, { cause: e });
      if (signal.aborted || (!isInvalidRange(e) && start > 0)) throw e;
      // A range starting at or past the end (e.g. any range of an empty object): the size tells which.
      const s = await this.stat(key);
      if (!s) throw new StorageError('ENOENT', `${key} is not in storage`, { cause: e });
      if (s.size > start && !isInvalidRange(e)) throw e;
      got = { body: Buffer.alloc(0), total: s.size };
    }
    if (opts.expectedSize !== undefined && got.total !== opts.expectedSize) {
      throw new StorageError('ESIZE', `${key}: size ${got.total} differs from the recorded ${opts.expectedSize}`);
    }
    return got;
  }

  /** Reads of unknown size ask for it first (HEAD): ranges and empty objects are then handled without guessing. */
  private async sized<T extends ReadOptions>(key: string, opts: T): Promise<T & { expectedSize: number }> {
    if (opts.expectedSize !== undefined) return opts as T & { expectedSize: number };
    const s = await this.stat(key);
    if (!s) throw new StorageError('ENOENT', `${key} is not in storage`);
    return { ...opts, expectedSize: s.size };
  }

  async read(key: string, options: ReadOptions = {}): Promise<Readable> {
    options.signal?.throwIfAborted();
    const opts = await this.sized(key, options);
    const outer = opts.signal;
    const start = opts.start ?? 0;
    if (opts.end !== undefined && opts.end < start) {
      // No bytes wanted (an empty file): a Range header `bytes=0--1` would be ignored and the whole object sent.
      const empty = await this.readSlice(key, { ...opts, start, end: opts.end });
      return Readable.from([empty as Buffer].filter((b) => b.length > 0));
    }
    const controller = new AbortController();
    const wanted = opts.end ?? Number.MAX_SAFE_INTEGER;
    const onOuter = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuter, { once: true });
    let first: { body: Buffer; total: number };
    try {
      first = await this.first(key, start, Math.min(wanted, start + this.readChunk - 1), opts, controller.signal);
    } catch (e) {
      outer?.removeEventListener('abort', onOuter);
      throw e;
    }
    const end = Math.min(wanted, first.total - 1);
    const chunkSize = this.readChunk;
    const parallel = this.readParallel;
    const signal = controller.signal;
    let next = start + first.body.length;
    const pending: Promise<Buffer>[] = [];
    const fill = () => {
      while (pending.length < parallel && next <= end) {
        const from = next;
        const to = Math.min(end, from + chunkSize - 1);
        next = to + 1;
        const task = this.getRange(key, from, to, signal).then(({ body }) => {
          if (body.length !== to - from + 1) throw new StorageError('ESIZE', `${key} changed while it was read`);
          return body;
        });
        task.catch(() => {});
        pending.push(task);
      }
    };
    async function* chunks(): AsyncGenerator<Buffer> {
      if (first.body.length > 0)
        yield first.body.length > end - start + 1 ? first.body.subarray(0, end - start + 1) : first.body;
      fill();
      while (pending.length > 0) {
        const head = pending.shift() as Promise<Buffer>;
        fill();
        yield await head;
      }
    }
    fill();
    const stream = Readable.from(chunks(), { objectMode: false });
    // A listener the moment the stream exists (see file-read-stream.ts); consumers still see every error.
    stream.on('error', () => {});
    stream.once('close', () => {
      outer?.removeEventListener('abort', onOuter);
      // Destroyed or finished: whatever is still in flight is cancelled, and its connection released.
      controller.abort();
    });
    if (outer) {
      const destroy = () => stream.destroy(abortError(outer));
      if (outer.aborted) destroy();
      else {
        outer.addEventListener('abort', destroy, { once: true });
        stream.once('close', () => outer.removeEventListener('abort', destroy));
      }
    }
    return stream;
  }

  async readSlice(key: string, options: ReadOptions & { start: number; end: number }): Promise<Readable | Buffer> {
    options.signal?.throwIfAborted();
    const opts = await this.sized(key, options);
    if (opts.end - opts.start + 1 > SMALL_READ) return this.read(key, opts);
    if (opts.end < opts.start) {
      const s = await this.stat(key);
      if (!s) throw new StorageError('ENOENT', `${key} is not in storage`);
      if (opts.expectedSize !== undefined && s.size !== opts.expectedSize) {
        throw new StorageError('ESIZE', `${key}: size ${s.size} differs from the recorded ${opts.expectedSize}`);
      }
      return Buffer.alloc(0);
    }
    const signal = opts.signal ?? new AbortController().signal;
    const { body } = await this.first(key, opts.start, opts.end, opts, signal);
    return body;
  }

  async write(key: string, body: Readable, signal?: AbortSignal): Promise<{ size: number }> {
    const Key = this.full(key);
    body.on('error', () => {});
    if (signal?.aborted) {
      body.destroy();
      signal.throwIfAborted();
    }
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        cb(null, chunk);
      },
    });
    meter.on('error', () => {});
    body.on('error', (e) => meter.destroy(e));
    body.pipe(meter);
    const abortController = new AbortController();
    const onAbort = () => {
      abortController.abort();
      meter.destroy(abortError(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // One PUT below partSize, else a multipart upload with `partQueue` parts in flight (never whole in memory).
      // Both are atomic; leavePartsOnError=false aborts a failed multipart upload so no parts linger.
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: meter },
        partSize: this.partSize,
        queueSize: this.partQueue,
        leavePartsOnError: false,
        abortController,
      });
      await upload.done();
    } catch (e) {
      body.destroy();
      if (signal?.aborted) throw abortError(signal);
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return { size };
  }

  async stat(key: string): Promise<StorageStat | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
      return { size: Number(r.ContentLength ?? 0), mtime: r.LastModified ?? new Date(0) };
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  /**
   * ListObjects (v1) with `Marker`: every S3-compatible store pages it the same way, where ListObjectsV2's opaque
   * continuation tokens are not (s3rver's cannot be deciphered on Node 20's OpenSSL).
   */
  async *list(prefix: string): AsyncIterable<StorageObject> {
    if (prefix) assertSafeKey(prefix.replace(/\/$/, ''));
    const base = this.prefix ? `${this.prefix}/` : '';
    let marker: string | undefined;
    for (;;) {
      const r = await this.client.send(
        new ListObjectsCommand({ Bucket: this.bucket, Prefix: base + prefix, Marker: marker }),
      );
      const contents = r.Contents ?? [];
      for (const o of contents) {
        if (o.Key) yield { key: o.Key.slice(base.length), size: Number(o.Size ?? 0) };
      }
      if (!r.IsTruncated || contents.length === 0) return;
      marker = r.NextMarker ?? contents[contents.length - 1].Key;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
  }

  /**
   * Deletes in batches of up to 1,000 keys (one DeleteObjects each). Every batch is the first page of a fresh
   * listing: the keys just deleted are gone from it, so no continuation marker is needed (whose meaning differs
   * between S3-compatible stores once keys disappear under it).
   */
  async deletePrefix(prefix: string): Promise<void> {
    if (prefix) assertSafeKey(prefix.replace(/\/$/, ''));
    const base = this.prefix ? `${this.prefix}/` : '';
    for (;;) {
      const r = await this.client.send(
        new ListObjectsCommand({ Bucket: this.bucket, Prefix: base + prefix, MaxKeys: DELETE_BATCH }),
      );
      const keys = (r.Contents ?? []).map((o) => o.Key).filter((k): k is string => !!k);
      if (keys.length === 0) return;
      await this.deleteKeys(keys);
      if (!r.IsTruncated) return;
    }
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    if (!this.noBatchDelete) {
      try {
        const r = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const failed = r.Errors ?? [];
        if (failed.length)
          throw new Error(`S3 could not delete ${failed.length} objects, e.g. ${failed[0].Key}: ${failed[0].Code}`);
        return;
      } catch (e) {
        const name = (e as { name?: string })?.name ?? '';
        if (!/NotImplemented|MethodNotAllowed/.test(name)) throw e;
        this.noBatchDelete = true;
      }
    }
    // Stores without DeleteObjects: single deletes, 16 at a time.
    for (let i = 0; i < keys.length; i += 16) {
      await Promise.all(
        keys.slice(i, i + 16).map((Key) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }))),
      );
    }
  }
}
