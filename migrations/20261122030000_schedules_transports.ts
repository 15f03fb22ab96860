import type { Knex } from 'knex';

/**
 * Schedules and transports (R-SCHED, R-TR, R-EXP-10):
 * - `schedule_fires`: one row per export and scheduled fire instant. Its primary key is the exactly-once decision:
 *   every scheduler instance computes the same fire instant, only the one whose insert wins enqueues (STYLE 9).
 * - `exports.schedule_checked_at`: the instant up to which the export's schedules were evaluated; fires after it
 *   and at or before "now" are due (catch-up after downtime, R-SCHED-4).
 * - `transport_deliveries`: one row per run and `_transports` entry, the source of `_transports[i]._state` etc.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('schedule_fires', (t) => {
    t.bigInteger('export_id').notNullable().references('exports.id').onDelete('CASCADE');
    t.timestamp('fire_time', { useTz: true }).notNullable();
    // 'queued' (a run was enqueued) or 'skipped' (the previous run was still active: EXPORT_SKIPPED).
    t.text('outcome').notNullable().defaultTo('queued');
    t.bigInteger('run_id');
    t.text('trigger').notNullable().defaultTo('schedule');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['export_id', 'fire_time']);
  });
  await knex.schema.alterTable('exports', (t) => {
    t.timestamp('schedule_checked_at', { useTz: true });
  });
  // The ticker's only query on an idle system: exports whose next fire has come.
  await knex.raw('create index exports_next_run on exports (next_run_at) where next_run_at is not null');
  await knex.raw('create index exports_expires on exports (expires_at) where published_run_id is not null');

  await knex.schema.createTable('transport_deliveries', (t) => {
    t.bigIncrements('id');
    t.bigInteger('export_id').notNullable().references('exports.id').onDelete('CASCADE');
    t.bigInteger('run_id').notNullable().references('runs.id').onDelete('CASCADE');
    t.integer('transport_index').notNullable();
    t.text('type').notNullable();
    t.text('state').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('failure_reason');
    t.jsonb('log').notNullable().defaultTo('[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['run_id', 'transport_index']);
    t.index(['export_id', 'transport_index', 'id']);
  });
  await knex.raw(
    "alter table transport_deliveries add constraint transport_deliveries_state_check check (state in ('pending','processing','done','failed'))",
  );
  await knex.raw("create index transport_deliveries_active on transport_deliveries (updated_at) where state in ('pending','processing')");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('transport_deliveries');
  await knex.raw('drop index if exists exports_expires');
  await knex.raw('drop index if exists exports_next_run');
  await knex.schema.alterTable('exports', (t) => {
    t.dropColumn('schedule_checked_at');
  });
  await knex.schema.dropTableIfExists('schedule_fires');
}
