import type { Knex } from 'knex';

/**
 * `exports.definition` as json instead of jsonb: jsonb re-sorts object keys, which lost the order of `fields` (the
 * column order of CSV and the element order of XML/JSON a user asked for). json keeps the text as sent.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table exports alter column definition type json using definition::text::json');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table exports alter column definition type jsonb using definition::jsonb');
}
