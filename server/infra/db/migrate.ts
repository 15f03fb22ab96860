import type { Knex } from 'knex';
import { migrationSource } from '../../../migrations/index.js';

// Arbitrary constant: the advisory lock id that serialises migrations across instances starting together.
const MIGRATION_LOCK = 0x45_58_50_4d; // "EXPM"

/**
 * Brings the schema up to date. Two instances starting at once both call this: the advisory lock makes
 * the second wait for the first and then find nothing to do (knex's own lock table would make it fail instead).
 */
export async function migrateLatest(db: Knex): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
    await db.migrate.latest({ migrationSource });
  });
}

export async function migrateDownAll(db: Knex): Promise<void> {
  await db.migrate.rollback({ migrationSource }, true);
}

/** True when every known migration has run (used by /readyz). */
export async function migrationsCurrent(db: Knex): Promise<boolean> {
  const [, pending] = (await db.migrate.list({ migrationSource })) as [unknown[], unknown[]];
  return pending.length === 0;
}
