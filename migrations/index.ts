import type { Knex } from 'knex';
import * as foundation from './20261122000000_foundation.js';
import * as objectsAssets from './20261122010000_objects_assets.js';
import * as schedulesTransports from './20261122030000_schedules_transports.js';
import * as definitionKeyOrder from './20261122040000_definition_key_order.js';
import * as archiveIndex from './20261122050000_archive_index.js';
import * as mailSends from './20261130060000_mail_sends.js';
import * as objectDataBytes from './20261130061000_object_data_bytes.js';
import * as deliveryJobs from './20261130070000_delivery_jobs.js';

/**
 * The migrations in order. A static list (not a folder scan) so the same code runs under tsx, compiled,
 * or bundled, and a forgotten file fails the migration test instead of being skipped silently.
 */
const MIGRATIONS: Record<string, { up(k: Knex): Promise<void>; down(k: Knex): Promise<void> }> = {
  '20261122000000_foundation': foundation,
  '20261122010000_objects_assets': objectsAssets,
  '20261122030000_schedules_transports': schedulesTransports,
  '20261122040000_definition_key_order': definitionKeyOrder,
  '20261122050000_archive_index': archiveIndex,
  '20261130060000_mail_sends': mailSends,
  '20261130061000_object_data_bytes': objectDataBytes,
  '20261130070000_delivery_jobs': deliveryJobs,
};

export const MIGRATION_NAMES = Object.keys(MIGRATIONS);

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name],
};
