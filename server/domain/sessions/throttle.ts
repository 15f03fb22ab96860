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

/**
 * Counts one attempt on every key BEFORE the secret is checked, and refuses it (429) when a key is blocked.
 * Check-then-record let a burst of parallel requests all pass the check before the first failure was written; here
 * each key's count moves under the key's row lock, so of 40 parallel attempts only the first FREE+1 reach the
 * password check (the last of them sets the block, exactly as sequential attempts do).
 * A refused attempt leaves the key's row as it was. The caller undoes the count on success (see `attemptSucceeded`).
 */
export async function takeAttempt(db: Knex, keys: string[]): Promise<void> {
  let wait = 0;
  for (const key of keys) {
    const free = freeFor(key);
    // One short transaction per key, holding the key's row lock from the read to the write: parallel attempts queue on
    // the lock and each sees the previous one's count and block. (A single upsert that told "refused" apart by
    // comparing timestamps let 10 of 40 through: now() is each transaction's start, not the order of the lock.)
    const refusedFor = await db.transaction(async (trx) => {
      await trx.raw(
        'insert into throttle (key, failures, blocked_until, updated_at) values (?, 0, null, now()) on conflict (key) do nothing',
        [key],
      );
      const row = (await trx('throttle')
        .where({ key })
        .forUpdate()
        .first(
          'failures',
          trx.raw('coalesce(blocked_until > now(), false) as blocked'),
          trx.raw(`updated_at < now() - interval '${FORGET_AFTER}' as stale`),
          trx.raw('ceil(extract(epoch from blocked_until - now()))::int as wait'),
        )) as { failures: number; blocked: boolean; stale: boolean; wait: number | null };
      if (row.blocked) return Math.max(1, row.wait ?? 1);
      const failures = row.stale ? 1 : row.failures + 1;
      await trx('throttle')
        .where({ key })
        .update({
          failures,
          blocked_until:
            failures > free ? trx.raw('now() + make_interval(secs => least(?, power(2, ?)))', [MAX_BLOCK_SECONDS, failures - free]) : null,
          updated_at: trx.fn.now(),
        });
      return 0;
    });
    wait = Math.max(wait, refusedFor);
  }
  if (wait > 0) throw tooManyAttempts(wait);
}

/**
 * A successful attempt: the login's failures are forgotten; the address only gets its attempt back, so failures
 * spread over many logins from one address still add up.
 */
export async function attemptSucceeded(db: Knex, clear: string[], giveBack: string[]): Promise<void> {
  if (clear.length > 0) await db('throttle').whereIn('key', clear).delete();
  if (giveBack.length > 0) {
    await db('throttle').whereIn('key', giveBack).update({ failures: db.raw('greatest(failures - 1, 0)') });
  }
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

/** Rows of keys that are neither blocked nor remembered any more (housekeeping: any login string makes a row). */
export async function purgeStaleThrottles(db: Knex): Promise<number> {
  return db('throttle')
    .where('updated_at', '<', db.raw(`now() - interval '${FORGET_AFTER}'`))
    .andWhere((q) => q.whereNull('blocked_until').orWhere('blocked_until', '<', db.fn.now()))
    .delete();
}
