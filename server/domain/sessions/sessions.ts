import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { customAlphabet } from 'nanoid';
import { userError } from '../errors.js';
import { verifyPassword, dummyHash } from '../users/passwords.js';
import { findUserByLogin, publicUser, type UserRow } from '../users/users-repo.js';
import { assertNotThrottled, clearFailures, recordFailure } from './throttle.js';

// 32 characters of a 62-symbol alphabet from a CSPRNG: 190 bits (R-AUTH-4 wants at least 128).
const newToken = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 32);
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
// last_seen_at is refreshed at most this often, so reading a session is not a write on every request.
const TOUCH_EVERY_MS = 60_000;

export interface Session {
  id: number;
  token: string;
  user: UserRow | null;
}

interface SessionRow {
  session_id: number;
  last_seen_at: Date;
}

const CACHE_MS = 2000;
const CACHE_MAX = 10_000;

export class SessionService {
  private readonly cache = new Map<string, { session: Session; until: number }>();

  constructor(
    private readonly db: Knex,
    private readonly ttlMs: number,
  ) {}

  async create(): Promise<Session> {
    const token = newToken();
    const [row] = await this.db('sessions').insert({ token_hash: hashToken(token) }).returning('id');
    return { id: row.id, token, user: null };
  }

  /** The live session for `token`, or null when unknown or idle for longer than SESSION_TTL. */
  async find(token: string | undefined): Promise<Session | null> {
    if (!token || token.length > 200) return null;
    const hash = hashToken(token);
    const cached = this.cache.get(hash);
    if (cached && cached.until > Date.now()) return cached.session;
    // Session and user in one round trip: this runs on every authenticated request.
    const row = (await this.db('sessions as s')
      .leftJoin('users as u', 'u.id', 's.user_id')
      .where('s.token_hash', hash)
      .andWhere('s.last_seen_at', '>', new Date(Date.now() - this.ttlMs))
      .first('s.id as session_id', 's.last_seen_at', 'u.*')) as (SessionRow & Partial<UserRow>) | undefined;
    if (!row) return null;
    if (Date.now() - row.last_seen_at.getTime() > TOUCH_EVERY_MS) {
      await this.db('sessions').where({ id: row.session_id }).update({ last_seen_at: this.db.fn.now() });
    }
    const user = row.id
      ? { id: row.id, login: row.login!, name: row.name!, email: row.email ?? null, password_hash: row.password_hash! }
      : null;
    const session = { id: row.session_id, token, user };
    this.remember(hash, session);
    return session;
  }

  /**
   * A short cache of authenticated sessions keeps a session lookup off most requests (R-PERF-4). Changes on this
   * instance drop the entry at once; another instance sees a logout after at most CACHE_MS.
   */
  private remember(hash: string, session: Session) {
    if (!session.user) return;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(hash, { session, until: Date.now() + CACHE_MS });
  }

  async require(token: string | undefined): Promise<Session> {
    const s = await this.find(token);
    if (!s) throw userError(400, 'session_not_found', 'The session does not exist or has expired');
    return s;
  }

  /**
   * R-AUTH-2: the same error and a similar time whether the login exists or not (a dummy hash is verified
   * for unknown logins); failures are counted per login and per address with growing back-off.
   */
  async authenticate(token: string | undefined, login: string, password: string, address: string): Promise<Session> {
    const session = await this.require(token);
    const keys = [`login:${login.toLowerCase()}`, `ip:${address}`];
    await assertNotThrottled(this.db, keys);
    const user = login ? await findUserByLogin(this.db, login) : undefined;
    const ok = await verifyPassword(password, user?.password_hash ?? (await dummyHash()));
    if (!user || !ok) {
      await recordFailure(this.db, keys);
      throw userError(400, 'login_failed', 'Login or password is wrong');
    }
    await clearFailures(this.db, [keys[0]]);
    this.cache.delete(hashToken(session.token));
    await this.db('sessions').where({ id: session.id }).update({ user_id: user.id, last_seen_at: this.db.fn.now() });
    return { ...session, user };
  }

  async deauthenticate(token: string | undefined): Promise<Session> {
    const session = await this.require(token);
    this.cache.delete(hashToken(session.token));
    await this.db('sessions').where({ id: session.id }).update({ user_id: null });
    return { ...session, user: null };
  }

  /** Forgets sessions idle for longer than the TTL (called by the worker's housekeeping). */
  async purgeExpired(): Promise<number> {
    return this.db('sessions').where('last_seen_at', '<', new Date(Date.now() - this.ttlMs)).delete();
  }
}

export const presentSession = (s: Session) => ({
  token: s.token,
  authenticated: s.user !== null,
  authentication_methods: ['password'],
  ...(s.user ? { user: publicUser(s.user) } : {}),
});
