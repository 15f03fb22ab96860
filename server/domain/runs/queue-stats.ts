import type { Knex } from 'knex';

export interface QueueFigures {
  runsByState: Record<string, number>;
  pending: { runs: { depth: number; oldestAgeSeconds: number }; deliveries: { depth: number; oldestAgeSeconds: number } };
}

/**
 * The queue's figures for the metrics scrape, in one statement. Pending runs and deliveries are read through their
 * partial indexes (runs_pending, transport_deliveries_active); only the runs-by-state count reads the whole runs
 * table, which keeps a few runs per export.
 */
export async function queueFigures(db: Knex): Promise<QueueFigures> {
  const { rows } = (await db.raw(
    `select
       (select coalesce(json_object_agg(state, n), '{}'::json) from (select state, count(*)::int as n from runs group by state) s) as runs,
       (select count(*)::int from runs where state = 'pending') as runs_pending,
       (select coalesce(extract(epoch from now() - min(created_at)), 0)::float8 from runs where state = 'pending') as runs_age,
       (select count(*)::int from transport_deliveries where state = 'pending') as deliveries_pending,
       (select coalesce(extract(epoch from now() - min(created_at)), 0)::float8 from transport_deliveries where state = 'pending') as deliveries_age`,
  )) as {
    rows: { runs: Record<string, number>; runs_pending: number; runs_age: number; deliveries_pending: number; deliveries_age: number }[];
  };
  const r = rows[0];
  return {
    runsByState: r.runs,
    pending: {
      runs: { depth: r.runs_pending, oldestAgeSeconds: Math.max(0, r.runs_age) },
      deliveries: { depth: r.deliveries_pending, oldestAgeSeconds: Math.max(0, r.deliveries_age) },
    },
  };
}
