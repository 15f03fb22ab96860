import type { Context } from 'koa';
import { apiError, payloadTooLarge } from '../../domain/errors.js';

/** Reads the whole request body up to `limit` bytes (413 beyond, without reading the rest). */
async function readRaw(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw payloadTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      ctx.req.unpipe();
      ctx.set('Connection', 'close');
      throw payloadTooLarge(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * JSON or form body as a plain object ({} when empty). Malformed JSON is 400 error.api.invalid_content;
 * other content types are refused so nothing is half-parsed.
 */
export async function readBody(ctx: Context, limit: number): Promise<unknown> {
  const raw = await readRaw(ctx, limit);
  if (raw.length === 0) return {};
  const type = ctx.request.type;
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  }
  if (type === 'application/json' || type === '' || type === 'text/plain') {
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch (e) {
      throw apiError('invalid_content', `The body is not valid JSON: ${(e as Error).message}`, { path: '' });
    }
  }
  throw apiError('invalid_content', `Content type ${type} is not accepted; send application/json`, { path: '' });
}
