import type { Knex } from 'knex';
import { z } from 'zod';
import { notFound } from '../errors.js';
import { pagingParams, parseQuery } from '../query-params.js';

const runsQuery = z.object(pagingParams(200, 20));

interface RunHistoryEntry {
  _id: number;
  trigger: string;
  state: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  objects: number | null;
  files: number | null;
  bytes: number | null;
  failure_reason: string | null;
}

const ISO = (col: string) => `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * One statement, one row: the export's ownership, the run count and the page as JSON (bigint figures become JSON
 * numbers, not strings). No row means no such export of this owner. The page walks `runs_export (export_id, id)`
 * backwards, so a long history costs what the page holds, plus the count.
 */
const HISTORY_SQL = `select
    (select count(*) from runs where export_id = e.id)::int as count,
    coalesce((select json_agg(json_build_object(
        '_id', r.id, 'trigger', r.trigger, 'state', r.state,
        'created_at', ${ISO('r.created_at')}, 'started_at', ${ISO('r.started_at')}, 'finished_at', ${ISO('r.finished_at')},
        'duration_ms', round(extract(epoch from r.finished_at - r.started_at) * 1000),
        'objects', r.objects, 'files', r.files, 'bytes', r.bytes, 'failure_reason', r.failure_reason) order by r.id desc)
      from (select * from runs where export_id = e.id order by id desc limit ? offset ?) r), '[]') as objects
  from exports e where e.id = ? and e.owner_id = ?`;

/**
 * The run history of an owner's export, newest first (`GET …/export/<id>/runs`). `objects`, `files` and `bytes` are
 * what the run published (null until it finished, and for failed runs); another user's export is a 404.
 */
export async function listRuns(db: Knex, ownerId: number, exportId: number, query: unknown) {
  const { limit, offset } = parseQuery(runsQuery, query);
  const { rows } = (await db.raw(HISTORY_SQL, [limit, offset, exportId, ownerId])) as {
    rows: { count: number; objects: RunHistoryEntry[] }[];
  };
  if (!rows[0]) throw notFound('export', exportId);
  return { limit, offset, count: rows[0].count, objects: rows[0].objects };
}
