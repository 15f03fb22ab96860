import type { Knex } from 'knex';

/**
 * Deliveries become jobs with the run's life cycle (issue 10): a `transport_deliveries` row is claimed with one
 * SKIP LOCKED statement, held under a lease (`locked_by`, `lease_expires_at`) that the holder's heartbeat renews,
 * retried at `run_at` (back-off computed in SQL) up to `max_attempts`, and taken over by the lease sweeper when its
 * holder died. `owner_id` orders claims fairly between users; `transport` is the `_transports` entry as it was when
 * the run was published (secrets still sealed), so a retry delivers what the run was published with; `delivery_uuid`
 * is the webhook's `delivery_id`, the same across attempts so receivers can deduplicate.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('transport_deliveries', (t) => {
    t.bigInteger('owner_id');
    t.jsonb('transport');
    t.uuid('delivery_uuid').notNullable().defaultTo(knex.raw('gen_random_uuid()'));
    t.integer('max_attempts').notNullable().defaultTo(3);
    t.timestamp('run_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('locked_by');
    t.timestamp('lease_expires_at', { useTz: true });
  });
  await knex.raw(
    `update transport_deliveries d set owner_id = e.owner_id, transport = e.transports -> d.transport_index
     from exports e where e.id = d.export_id`,
  );
  await knex.raw('alter table transport_deliveries alter column owner_id set not null');
  // Rows the previous (in-process) runner was executing: held for two more minutes under a placeholder lease, then
  // the sweeper takes them over like any delivery whose worker died.
  await knex.raw(
    `update transport_deliveries set locked_by = 'before-migration', lease_expires_at = updated_at + interval '2 minutes'
     where state = 'processing'`,
  );
  await knex.raw(
    "create index transport_deliveries_ready on transport_deliveries (run_at, id) where state = 'pending'",
  );
  await knex.raw(
    "create index transport_deliveries_leased on transport_deliveries (lease_expires_at) where state = 'processing'",
  );
  await knex.raw(
    "create index transport_deliveries_owner_busy on transport_deliveries (owner_id) where state = 'processing'",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists transport_deliveries_owner_busy');
  await knex.raw('drop index if exists transport_deliveries_leased');
  await knex.raw('drop index if exists transport_deliveries_ready');
  await knex.schema.alterTable('transport_deliveries', (t) => {
    t.dropColumn('lease_expires_at');
    t.dropColumn('locked_by');
    t.dropColumn('run_at');
    t.dropColumn('max_attempts');
    t.dropColumn('delivery_uuid');
    t.dropColumn('transport');
    t.dropColumn('owner_id');
  });
}
