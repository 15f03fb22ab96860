import type { Knex } from 'knex';

/**
 * `objects.data_bytes`: the UTF-8 size of `data` as text, the form a run reads it in. The producer reads these
 * sizes ahead of the objects to cut batches by bytes as well as by count (server/domain/produce/object-source.ts):
 * a size known only after a row was fetched is too late to keep it out of memory. Generated, so no writer can forget
 * it; `pg_column_size` would be cheaper but reports the compressed size, which hostile data can make 100× smaller.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table objects add column data_bytes integer generated always as (octet_length(data::text)) stored');
  // Which owners have any object above 8 KiB (BIG_OBJECT_BYTES in object-source.ts): only their runs read sizes
  // ahead; everyone else's batches are bounded by count alone (n objects ≤ n × 8 KiB).
  await knex.raw('create index objects_big on objects (owner_id) where data_bytes > 8192');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists objects_big');
  await knex.raw('alter table objects drop column data_bytes');
}
