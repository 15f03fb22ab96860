import type { Knex } from 'knex';
import { tooManyAttempts } from '../errors.js';

/**
 * Failure counting with growing back-off, in PostgreSQL so every instance sees the same counts.
 * After FREE failures each further one blocks the key for 2^(n-FREE) seconds, capped at MAX_BLOCK_SECONDS.
 */
const FREE = 5;
// An address may hide many people (NAT, proxies), so it gets more free failures than one login.
const FREE_PER_ADDRESS = 20;
const freeFor = (key: string) => (key.startsWith('ip:') || key.startsWith('passkey:') ? FREE_PER_ADDRESS : FREE);
const MAX_BLOCK_SECONDS = 15 * 60;
// A key with no failure for this long starts afresh.
const FORGET_AFTER = '1 hour';

export async function assertNotThrottled(db: Knex, keys: string[]): Promise<void> {
  const rows = await db('throttle')
    .whereIn('key', keys)
    .andWhere('blocked_until', '>', db.fn.now())
    .select(db.raw('ceil(extract(epoch from max(blocked_until) - now()))::int as wait'));
  const wait = rows[0]?.wait as number | null;
  if (wait && wait > 0) throw tooManyAttempts(wait);
}

export async function recordFailure(db: Knex, keys: string[]): Promise<void> {
  for (const key of keys) {
    await db.raw(
      `insert into throttle (key, failures, blocked_until, updated_at) values (?, 1, null, now())
       on conflict (key) do update set
         failures = case when throttle.updated_at < now() - interval '${FORGET_AFTER}' then 1 else throttle.failures + 1 end,
         blocked_until = case
           when throttle.updated_at >= now() - interval '${FORGET_AFTER}' and throttle.failures + 1 > ?
           then now() + make_interval(secs => least(?, power(2, throttle.failures + 1 - ?)))
           else null end,
         updated_at = now()`,
      [key, freeFor(key), MAX_BLOCK_SECONDS, freeFor(key)],
    );
  }
}

export async function clearFailures(db: Knex, keys: string[]): Promise<void> {
  await db('throttle').whereIn('key', keys).delete();
}
