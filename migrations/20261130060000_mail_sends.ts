import type { Knex } from 'knex';

/**
 * `mail_sends`: one row per notification mail sent for a user's export (R-ROB-8), the source of the per-user daily
 * cap (MAIL_MAX_PER_DAY). Not tied to exports or deliveries: deleting an export must not reset the count.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mail_sends', (t) => {
    t.bigIncrements('id');
    t.bigInteger('owner_id').notNullable().references('users.id').onDelete('CASCADE');
    t.integer('recipients').notNullable();
    t.timestamp('sent_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['owner_id', 'sent_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('mail_sends');
}
