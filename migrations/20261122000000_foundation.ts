import type { Knex } from 'knex';

/** Users, sessions, throttling, exports with their event log, runs and the files each run published. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.bigIncrements('id');
    t.text('login').notNullable().unique();
    t.text('name').notNullable().defaultTo('');
    t.text('email');
    t.text('password_hash').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('sessions', (t) => {
    t.bigIncrements('id');
    t.text('token_hash').notNullable().unique();
    t.bigInteger('user_id').references('users.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['last_seen_at']);
  });

  // One row per throttled key (`login:<name>`, `ip:<address>`, `passkey:<address>`): failures and back-off.
  await knex.schema.createTable('throttle', (t) => {
    t.text('key').primary();
    t.integer('failures').notNullable().defaultTo(0);
    t.timestamp('blocked_until', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('exports', (t) => {
    t.bigIncrements('id');
    t.bigInteger('owner_id').notNullable().references('users.id').onDelete('CASCADE');
    t.integer('version').notNullable().defaultTo(1);
    t.text('type').notNullable();
    t.text('name').notNullable();
    // false while the name is the default `export-<type>-<id>`: a scheduled export needs a given name (R-EXP-4).
    t.boolean('name_given').notNullable().defaultTo(false);
    t.jsonb('definition').notNullable();
    t.jsonb('schedules').notNullable().defaultTo('[]');
    t.jsonb('transports').notNullable().defaultTo('[]');
    t.text('state').notNullable().defaultTo('new');
    t.text('failure_reason');
    t.text('passkey').notNullable();
    t.bigInteger('last_run_id');
    t.bigInteger('published_run_id');
    t.timestamp('next_run_at', { useTz: true });
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['owner_id', 'id']);
  });
  await knex.raw(
    "alter table exports add constraint exports_state_check check (state in ('new','pending','processing','done','failed'))",
  );

  await knex.schema.createTable('export_events', (t) => {
    t.bigIncrements('id');
    t.bigInteger('export_id').notNullable().references('exports.id').onDelete('CASCADE');
    t.text('type').notNullable();
    t.timestamp('timestamp', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.jsonb('info').notNullable().defaultTo('{}');
    t.index(['export_id', 'id']);
  });

  await knex.schema.createTable('runs', (t) => {
    t.bigIncrements('id');
    t.bigInteger('export_id').notNullable().references('exports.id').onDelete('CASCADE');
    t.bigInteger('owner_id').notNullable();
    t.text('trigger').notNullable();
    t.text('state').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('max_attempts').notNullable().defaultTo(3);
    t.text('locked_by');
    t.timestamp('lease_expires_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('started_at', { useTz: true });
    t.timestamp('finished_at', { useTz: true });
    t.text('failure_reason');
    t.jsonb('progress');
    t.text('files_prefix');
    t.timestamp('files_deleted_at', { useTz: true });
    t.timestamp('fire_time', { useTz: true });
  });
  await knex.raw("alter table runs add constraint runs_state_check check (state in ('pending','processing','done','failed'))");
  // At most one active run per export, whatever races the API or schedulers run into (R-EXP-6, R-ENG-3).
  await knex.raw("create unique index runs_one_active_per_export on runs (export_id) where state in ('pending','processing')");
  await knex.raw("create index runs_pending on runs (id) where state = 'pending'");
  await knex.raw("create index runs_processing on runs (lease_expires_at) where state = 'processing'");
  await knex.raw('create index runs_export on runs (export_id, id)');

  await knex.schema.createTable('run_files', (t) => {
    t.bigInteger('run_id').notNullable().references('runs.id').onDelete('CASCADE');
    t.integer('ord').notNullable();
    t.text('path').notNullable();
    t.bigInteger('size').notNullable();
    t.text('sha256').notNullable();
    t.bigInteger('crc32').notNullable();
    t.text('mime_type').notNullable();
    t.bigInteger('eas_id');
    t.text('eas_fileclass');
    t.bigInteger('mtime').notNullable();
    t.primary(['run_id', 'path']);
    t.unique(['run_id', 'ord']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['run_files', 'runs', 'export_events', 'exports', 'throttle', 'sessions', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
