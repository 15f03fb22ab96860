import type { Context, Next } from 'koa';
import { apiError } from '../../domain/errors.js';
import { TEXT_RULE, textProblem } from '../../domain/text.js';

/**
 * Query parameters and path segments are text too (R-ROB-6): `%00` in a token, a login or an object type is refused
 * here with a 400 naming the parameter, before any route hands it to PostgreSQL (which cannot take NUL and answered
 * 500). Invalid percent-encoded UTF-8 never gets here as a lone surrogate: Node decodes it to U+FFFD.
 */
export async function queryText(ctx: Context, next: Next): Promise<void> {
  if (/%00/i.test(ctx.path)) {
    throw apiError('invalid_value', `The path ${TEXT_RULE}: it contains an encoded NUL (%00)`, { path: 'path' });
  }
  for (const [name, raw] of Object.entries(ctx.query)) {
    const nameProblem = textProblem(name);
    if (nameProblem) {
      throw apiError('invalid_value', `A query parameter name ${TEXT_RULE}: it ${nameProblem}`, { path: 'query' });
    }
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      const problem = value === undefined ? null : textProblem(value);
      if (problem) throw apiError('invalid_value', `Query parameter ${name} ${TEXT_RULE}: it ${problem}`, { path: name });
    }
  }
  await next();
}
