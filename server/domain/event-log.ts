import type { Knex } from 'knex';
import { storableJson } from './text.js';

export type ExportEventType =
  | 'EXPORT_INSERT'
  | 'EXPORT_UPDATE'
  | 'EXPORT_START'
  | 'EXPORT_FINISH'
  | 'EXPORT_FAILED'
  | 'EXPORT_STOPPED'
  | 'EXPORT_SKIPPED'
  | 'TRANSPORT_FINISH'
  | 'TRANSPORT_FAILED'
  | 'EXPORT_EXPIRED';

// R-EXP-8: the log keeps the newest 500 events of an export.
export const LOG_LIMIT = 500;

export async function logEvent(db: Knex, exportId: number, type: ExportEventType, info: Record<string, unknown> = {}) {
  await db('export_events').insert({ export_id: exportId, type, info: storableJson(info) });
  await db.raw(
    `delete from export_events where export_id = ? and id <= (
       select id from export_events where export_id = ? order by id desc offset ? limit 1)`,
    [exportId, exportId, LOG_LIMIT],
  );
}
