/**
 * Text the service accepts (R-ROB-6): valid Unicode without NUL. PostgreSQL cannot hold either in text or jsonb, and a
 * `json` column keeps their escapes, which then break every query that reads the value as text (one user's `\u0000` would make the scheduler's query
 * over all owners fail on every tick). So every string and every object key is
 * checked once, where input enters: JSON and form bodies (deeply), query strings, and the zod `text()` type for
 * schemas used outside HTTP.
 */
import { z } from 'zod';
import { apiError } from './errors.js';
import { joinPath } from './validation.js';

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with `s` as stored text, or null when it is fine. */
export function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(s)) return 'contains a lone UTF-16 surrogate, which is not valid Unicode';
  return null;
}

export const TEXT_RULE = 'must be valid Unicode text without NUL characters';

/** The shared string type of every schema: a zod string that is valid Unicode without NUL. */
export const text = () =>
  z.string().superRefine((s, ctx) => {
    const problem = textProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: `${TEXT_RULE}: it ${problem}` });
  });

/** A key as it may appear in an error path: NUL and lone surrogates as `\uXXXX`, never the raw code unit. */
const visible = (key: string) =>
  key.replace(/[\u0000\uD800-\uDFFF]/g, (c, i: number) => {
    const code = c.charCodeAt(0);
    const paired =
      (code >= 0xd800 && code <= 0xdbff && /[\uDC00-\uDFFF]/.test(key[i + 1] ?? '')) ||
      (code >= 0xdc00 && code <= 0xdfff && /[\uD800-\uDBFF]/.test(key[i - 1] ?? ''));
    return paired ? c : `\\u${code.toString(16).padStart(4, '0')}`;
  });

/**
 * Throws a 400 `error.api.invalid_value` naming the first string or object key below `value` that is not valid text,
 * or a key named `__proto__` (path relative to `base`, e.g. `export.custom_data[0].value`). Iterative: a deeply
 * nested body cannot overflow the stack here. The value itself is never quoted (it may be a password).
 */
export function assertValidText(value: unknown, base = ''): void {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: base }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) throw textError(path, `it ${problem}`);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: joinPath(path, [i]) });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i];
        const problem = textProblem(key);
        const keyPath = joinPath(path, [visible(key)]);
        if (problem) throw textError(keyPath, `its name ${problem}`);
        // JSON.parse makes `__proto__` an own key, but any plain-object copy (zod records, field maps) turns it into
        // a prototype change and silently drops it; nothing can name it safely, so it is refused everywhere.
        if (key === '__proto__') {
          throw apiError('invalid_value', `Attribute ${keyPath}: the name __proto__ is reserved`, { path: keyPath });
        }
        stack.push({ v: item, path: keyPath });
      }
    }
  }
}

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/**
 * JSON text PostgreSQL's jsonb always accepts, for what the service itself writes (event and delivery logs) that may
 * quote foreign text, such as a remote server's error message: NUL and lone surrogates become U+FFFD instead of
 * failing the statement that records the failure.
 */
export const storableJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'string' && textProblem(v) ? v.replace(/\u0000/g, '\uFFFD').replace(LONE_SURROGATES, '\uFFFD') : v,
  );

const textError = (path: string, problem: string) =>
  apiError('invalid_value', `Attribute ${path || '(body)'} ${TEXT_RULE}: ${problem}`, { path });
