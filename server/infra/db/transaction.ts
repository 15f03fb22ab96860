import type { Knex } from 'knex';
import { isRetryable } from './pg-errors.js';

/**
 * Runs `fn` in a transaction, reusing `db` when it already is one, and retrying the whole function a few
 * times on deadlock / serialization failure (both are safe to retry because nothing was committed).
 */
export async function withTransaction<T>(db: Knex, fn: (trx: Knex.Transaction) => Promise<T>, attempts = 3): Promise<T> {
  if (db.isTransaction) return fn(db as Knex.Transaction);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (e) {
      if (attempt >= attempts || !isRetryable(e)) throw e;
      await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 20));
    }
  }
}
