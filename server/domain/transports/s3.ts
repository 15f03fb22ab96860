import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { z } from 'zod';
import { checkHostAllowed, guardedLookup } from './allow-hosts.js';
import { cancelled, networkPhrase, onAbort, toTransportError, TransportError } from './failure.js';
import { deliveryOrder, runFolder } from './layout.js';
import type { Transport } from './transport.js';
import { httpUrlSchema, parseWith, refuseLiteralHost } from './validation.js';

export interface S3Options {
  endpoint?: string;
  region: string;
  bucket: string;
  prefix: string;
  access_key_id: string;
  secret_access_key: string;
  force_path_style: boolean;
}

export interface S3Deps {
  allowHosts: readonly string[];
  /** Parts of this size are uploaded in parallel for big files (S3 minimum 5 MiB). */
  partSize?: number;
  /** SDK attempts per request; the lead retries whole deliveries, so keep this low. */
  maxAttempts?: number;
  connectTimeoutMs?: number;
}

const schema = z.strictObject({
  endpoint: httpUrlSchema.optional(),
  region: z.string().min(1).max(64).default('us-east-1'),
  bucket: z
    .string()
    .min(3)
    .max(63)
    .regex(/^[a-z0-9][a-z0-9.\-_]*[a-z0-9]$/, 'must be a valid bucket name'),
  prefix: z
    .string()
    .max(512)
    .default('')
    .transform((p) => p.replace(/^\/+|\/+$/g, '')),
  access_key_id: z.string().min(1).max(256),
  secret_access_key: z.string().min(1).max(1024),
  force_path_style: z.boolean().default(false),
});

const endpointHost = (o: S3Options): string =>
  o.endpoint ? new URL(o.endpoint).hostname.replace(/^\[|\]$/g, '') : `s3.${o.region}.amazonaws.com`;

function s3Failure(err: unknown, o: S3Options): TransportError | null {
  const name = (err as { name?: string })?.name ?? '';
  if (/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|Forbidden/.test(name)) {
    return new TransportError(`S3 rejected the credentials for bucket ${o.bucket} (${name})`, { cause: err });
  }
  if (name === 'NoSuchBucket') return new TransportError(`S3 bucket ${o.bucket} does not exist`, { cause: err });
  const phrase = networkPhrase(err);
  if (phrase) return new TransportError(`S3 upload to ${endpointHost(o)} failed: ${phrase}`, { cause: err });
  return null;
}

/**
 * `s3` with @aws-sdk/lib-storage's Upload: one PUT for small files, parallel multipart for big ones. PUT is atomic,
 * so there are no temporary names; `manifest.json` is still written last.
 *
 * The HTTP agents use `guardedLookup`, so the allow-host check runs on the very addresses the SDK connects to.
 * With a custom `endpoint` (MinIO, Ceph, s3rver…) checksums are only sent when an operation requires them: many
 * S3-compatible servers reject the newer SDK's default aws-chunked CRC32 trailers.
 */
export function createS3Transport(deps: S3Deps): Transport<S3Options> {
  const partSize = Math.max(deps.partSize ?? 8 * 1024 * 1024, 5 * 1024 * 1024);

  const client = (o: S3Options) => {
    const lookup = guardedLookup(deps.allowHosts);
    return new S3Client({
      region: o.region,
      endpoint: o.endpoint,
      forcePathStyle: o.force_path_style,
      credentials: { accessKeyId: o.access_key_id, secretAccessKey: o.secret_access_key },
      maxAttempts: deps.maxAttempts ?? 2,
      ...(o.endpoint
        ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
        : {}),
      requestHandler: {
        httpAgent: new HttpAgent({ keepAlive: true, lookup }),
        httpsAgent: new HttpsAgent({ keepAlive: true, lookup }),
        connectionTimeout: deps.connectTimeoutMs ?? 10_000,
      },
    });
  };

  return {
    type: 's3',
    optionsSchema: schema,
    secretOptions: ['secret_access_key'],
    validate(options, path) {
      const o = parseWith(schema, options, path) as S3Options;
      if (o.endpoint) refuseLiteralHost(new URL(o.endpoint).hostname, deps.allowHosts, `${path}.endpoint`);
      return o;
    },
    // The secret key signs requests for this key id at this endpoint (or region) and bucket.
    destination: (o) => ({
      endpoint: o.endpoint ? new URL(o.endpoint).href : null,
      region: o.region,
      bucket: o.bucket,
      access_key_id: o.access_key_id,
    }),
    hosts: (o) => [endpointHost(o)],
    async deliver(o, ctx) {
      const secrets = [o.secret_access_key];
      // IP-literal endpoints never reach the lookup hook, so check up front as well.
      await checkHostAllowed(endpointHost(o), deps.allowHosts);
      const s3 = client(o);
      const base = runFolder(o.prefix, ctx);
      const written: string[] = [];
      const files = deliveryOrder(ctx.files);
      try {
        for (const file of files) {
          if (ctx.signal.aborted) throw cancelled('S3');
          const key = `${base}/${file.path}`;
          const abortController = new AbortController();
          const stopAbort = onAbort(ctx.signal, () => abortController.abort());
          try {
            const upload = new Upload({
              client: s3,
              params: { Bucket: o.bucket, Key: key, Body: await file.open(ctx.signal) },
              partSize,
              queueSize: 4,
              leavePartsOnError: false,
              abortController,
            });
            await upload.done();
          } finally {
            stopAbort();
          }
          written.push(key);
        }
        ctx.log('s3 delivery finished', { bucket: o.bucket, prefix: base, files: files.length });
      } catch (err) {
        if (written.length > 0 && !ctx.signal.aborted) {
          // One DeleteObject per key rather than DeleteObjects: the latter needs Content-MD5/CRC handling that
          // S3-compatible servers implement unevenly, and a failed delivery has few objects.
          const results = await Promise.allSettled(
            written.map((Key) => s3.send(new DeleteObjectCommand({ Bucket: o.bucket, Key }))),
          );
          const failed = results.filter((r) => r.status === 'rejected').length;
          ctx.log(failed ? 's3 cleanup incomplete; partial objects may remain' : 's3 partial delivery removed', {
            files: written.length,
            failed,
          });
        }
        const mapped = ctx.signal.aborted ? null : s3Failure(err, o);
        throw toTransportError(mapped ?? err, `S3 upload to bucket ${o.bucket} failed`, ctx.signal, 'S3', secrets);
      } finally {
        s3.destroy();
      }
    },
  };
}
