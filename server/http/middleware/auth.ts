import type { Context, Next } from 'koa';
import { notAuthenticated } from '../../domain/errors.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import type { UserRow } from '../../domain/users/users-repo.js';

/** R-AUTH-4: query `token`, header `X-Export-Token`, or `Authorization: Bearer <token>`. */
export function tokenOf(ctx: Context): string | undefined {
  const q = ctx.query.token;
  if (typeof q === 'string' && q) return q;
  const header = ctx.get('x-export-token');
  if (header) return header;
  const auth = ctx.get('authorization');
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  return m ? m[1] : undefined;
}

/**
 * Protected routes (R-AUTH-6): 403 error.user.not_authenticated without an authenticated session. The description
 * and `parameters.reason` say which of the three cases it is, so a client knows whether to send a token, get a new
 * session, or log in.
 */
export function requireUser(sessions: SessionService) {
  return async (ctx: Context, next: Next) => {
    const token = tokenOf(ctx);
    if (!token) {
      throw notAuthenticated(
        'No session token was sent (query token, header X-Export-Token or Authorization: Bearer)',
        'token_missing',
      );
    }
    const session = await sessions.find(token);
    if (!session) throw notAuthenticated('The session token is unknown or its session has expired', 'session_not_found');
    if (!session.user) throw notAuthenticated('The session is not authenticated; log in first', 'not_logged_in');
    ctx.state.user = session.user;
    await next();
  };
}

export const currentUser = (ctx: Context): UserRow => ctx.state.user as UserRow;
