import type { Knex } from 'knex';

/**
 * `runs.objects`, `runs.files`, `runs.bytes`: what a finished run published, for the run history
 * (`GET …/export/<id>/runs`). Kept on the run because its files rows go with retention and its EXPORT_FINISH log
 * entry with the log's 500-entry limit. Runs finished before this get the figures from that entry where it is left.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table runs add column objects bigint, add column files integer, add column bytes bigint');
  await knex.raw(
    `update runs r set objects = (ev.info->>'objects')::bigint, files = (ev.info->>'files')::int, bytes = (ev.info->>'bytes')::bigint
     from export_events ev
     where ev.export_id = r.export_id and ev.type = 'EXPORT_FINISH' and ev.info->>'run_id' = r.id::text and r.state = 'done'
       and jsonb_typeof(ev.info->'objects') = 'number' and jsonb_typeof(ev.info->'files') = 'number'
       and jsonb_typeof(ev.info->'bytes') = 'number'`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table runs drop column objects, drop column files, drop column bytes');
}
