import type { Knex } from 'knex';

/**
 * `runs.archive_index`: the run's archive columns as one compact binary value written at publish
 * (server/domain/files/archive-index.ts), so the first zip/ of a big export needn't aggregate run_files (R-PERF-2).
 * Nullable: runs published before this have none and are read from run_files.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table runs add column archive_index bytea');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table runs drop column archive_index');
}
