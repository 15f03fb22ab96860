import type { Knex } from 'knex';

/** What exports export: a user's objects (free JSON per object type), deletions remembered, and asset files. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('objects', (t) => {
    t.bigIncrements('id');
    t.bigInteger('owner_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('objecttype').notNullable();
    t.jsonb('data').notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // The indexes the search translation is shaped for (server/domain/search): scope, changed_since, `in` / numeric
  // ranges through jsonpath containment, and fulltext. The last expression must equal DOC_TSVECTOR in to-sql.ts.
  await knex.raw('create index objects_owner_type_id on objects (owner_id, objecttype, id)');
  await knex.raw('create index objects_owner_changed on objects (owner_id, changed_at)');
  await knex.raw('create index objects_data_path_ops on objects using gin (data jsonb_path_ops)');
  await knex.raw(
    `create index objects_data_fts on objects using gin (jsonb_to_tsvector('simple'::regconfig, data, '["string", "numeric", "boolean"]'::jsonb))`,
  );

  // Deleted objects, for incremental exports' deleted.json (R-OUT-4).
  await knex.schema.createTable('object_tombstones', (t) => {
    t.bigIncrements('id');
    t.bigInteger('owner_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('objecttype').notNullable();
    t.bigInteger('object_id').notNullable();
    t.timestamp('deleted_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['owner_id', 'deleted_at']);
  });

  await knex.schema.createTable('assets', (t) => {
    t.bigIncrements('id');
    t.bigInteger('owner_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('original_filename').notNullable();
    t.bigInteger('size').notNullable();
    t.text('sha256').notNullable();
    t.text('mime_type').notNullable();
    t.text('class').notNullable();
    t.text('storage_key').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['owner_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['assets', 'object_tombstones', 'objects']) await knex.schema.dropTableIfExists(table);
}
