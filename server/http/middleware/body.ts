import type { Context } from 'koa';
import { AppError, apiError, payloadTooLarge } from '../../domain/errors.js';
import { assertValidText } from '../../domain/text.js';

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

// Fatal: invalid UTF-8 is refused instead of silently becoming U+FFFD (which would store something nobody sent).
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(raw: Buffer): string {
  try {
    return utf8.decode(raw);
  } catch {
    throw apiError('invalid_content', 'The body is not valid UTF-8', { path: '' });
  }
}

const unsupportedType = (type: string, form: boolean) =>
  new AppError(
    415,
    'api',
    'invalid_content',
    type
      ? `Content type ${type} is not accepted; send application/json${form ? ' or application/x-www-form-urlencoded' : ''}`
      : `The body has no Content-Type; send it as application/json${form ? ' or application/x-www-form-urlencoded' : ''}`,
    { path: '', content_type: type },
  );

/**
 * The JSON body (or, where `form` is allowed, a form) as a value ({} when empty). Malformed JSON or invalid UTF-8 is
 * 400 error.api.invalid_content; a body declared as anything else (or not declared) is 415, so nothing is guessed or
 * half-parsed. Every string and key inside must be valid text (R-ROB-6): checked here, once, before any route sees it.
 */
export async function readBody(ctx: Context, limit: number, opts: { form?: boolean } = {}): Promise<unknown> {
  const raw = await readRaw(ctx, limit);
  if (raw.length === 0) return {};
  const type = ctx.request.type;
  let value: unknown;
  if (opts.form && type === 'application/x-www-form-urlencoded') {
    value = Object.fromEntries(new URLSearchParams(decode(raw)));
  } else if (type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type)) {
    const source = decode(raw);
    try {
      value = JSON.parse(source);
    } catch (e) {
      throw apiError('invalid_content', `The body is not valid JSON: ${(e as Error).message}`, { path: '' });
    }
  } else {
    throw unsupportedType(type, opts.form === true);
  }
  assertValidText(value);
  return value;
}
