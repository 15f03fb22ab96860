import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { customAlphabet } from 'nanoid';
import { userError } from '../errors.js';
import { verifyPassword, dummyHash } from '../users/passwords.js';
import { findUserByLogin, publicUser, type UserRow } from '../users/users-repo.js';
import { attemptSucceeded, takeAttempt } from './throttle.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/**
 * A token is 40 characters of a 62-symbol alphabet: 24 from a CSPRNG (142 bits; R-AUTH-4 wants at least 128), the
 * issue time in seconds (6 characters) and a 10-character HMAC tag over both. An unauthenticated session is just
 * such a signed token, stored nowhere, so calls of `GET /api/v1/session` without a token cannot grow the table
 * without bound. A row is written when the session authenticates; from then on the
 * row (its `last_seen_at`) decides, and the signature is no longer consulted.
 */
const RANDOM_CHARS = 24;
const TIME_CHARS = 6;
const TAG_CHARS = 10;
const TOKEN_LENGTH = RANDOM_CHARS + TIME_CHARS + TAG_CHARS;
const randomPart = customAlphabet(ALPHABET, RANDOM_CHARS);
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
// last_seen_at is refreshed at most this often, so reading a session is not a write on every request.
const TOUCH_EVERY_MS = 60_000;

function toBase62(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function fromBase62(s: string): number {
  let n = 0;
  for (const ch of s) {
    const d = ALPHABET.indexOf(ch);
    if (d < 0) return Number.NaN;
    n = n * 62 + d;
  }
  return n;
}

export interface Session {
  /** The row's id; null for an unauthenticated session that was never stored. */
  id: number | null;
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
  private readonly tagKey: Buffer;

  constructor(
    private readonly db: Knex,
    private readonly ttlMs: number,
    secretKey: Buffer,
  ) {
    // A key of its own, derived from SECRET_KEY, so a tag is never also a valid value anywhere else.
    this.tagKey = Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), 'export-manager session token', 32));
  }

  private tag(body: string): string {
    const mac = createHmac('sha256', this.tagKey).update(body).digest();
    let out = '';
    for (let i = 0; i < TAG_CHARS; i++) out += ALPHABET[mac[i]! % 62];
    return out;
  }

  /** A new unauthenticated session: a signed token, nothing stored (see TOKEN_LENGTH). */
  create(): Session {
    const body = randomPart() + toBase62(Math.floor(Date.now() / 1000), TIME_CHARS);
    return { id: null, token: body + this.tag(body), user: null };
  }

  /** Whether `token` is one we signed, issued no longer than SESSION_TTL ago. */
  private signedAndFresh(token: string): boolean {
    if (token.length !== TOKEN_LENGTH) return false;
    const body = token.slice(0, RANDOM_CHARS + TIME_CHARS);
    const given = Buffer.from(token.slice(-TAG_CHARS));
    if (!timingSafeEqual(given, Buffer.from(this.tag(body)))) return false;
    const issued = fromBase62(body.slice(RANDOM_CHARS)) * 1000;
    return issued <= Date.now() + 60_000 && Date.now() - issued <= this.ttlMs;
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
      .first('s.id as session_id', 's.last_seen_at', 'u.*')) as (SessionRow & Partial<UserRow>) | undefined;
    // A stored session that expired stays expired, even though its token is still correctly signed.
    if (!row) return this.signedAndFresh(token) ? { id: null, token, user: null } : null;
    if (row.last_seen_at.getTime() <= Date.now() - this.ttlMs) return null;
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
   * for unknown logins); attempts are counted per login and per address, before the password is checked
   * (see takeAttempt), with growing back-off.
   */
  async authenticate(token: string | undefined, login: string, password: string, address: string): Promise<Session> {
    const session = await this.require(token);
    const loginKey = `login:${login.toLowerCase()}`;
    const addressKey = `ip:${address}`;
    await takeAttempt(this.db, [loginKey, addressKey]);
    const user = login ? await findUserByLogin(this.db, login) : undefined;
    const ok = await verifyPassword(password, user?.password_hash ?? (await dummyHash()));
    if (!user || !ok) throw userError(400, 'login_failed', 'Login or password is wrong');
    await attemptSucceeded(this.db, [loginKey], [addressKey]);
    this.cache.delete(hashToken(session.token));
    // The first authentication of a signed token stores it; a stored one (re-authenticated after a logout) is updated.
    const [row] = (await this.db('sessions')
      .insert({ token_hash: hashToken(session.token), user_id: user.id })
      .onConflict('token_hash')
      .merge({ user_id: user.id, last_seen_at: this.db.fn.now() })
      .returning('id')) as { id: number }[];
    return { ...session, id: row!.id, user };
  }

  async deauthenticate(token: string | undefined): Promise<Session> {
    const session = await this.require(token);
    this.cache.delete(hashToken(session.token));
    if (session.id !== null) await this.db('sessions').where({ id: session.id }).update({ user_id: null });
    return { ...session, user: null };
  }

  /** Forgets sessions idle for longer than the TTL (called by the worker's housekeeping, see compose.ts). */
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
