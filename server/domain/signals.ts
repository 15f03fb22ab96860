import type { Knex } from 'knex';

/**
 * Signals between instances (R-SCALE-2), carried by PostgreSQL NOTIFY. Each is sent inside the transaction of the
 * change it announces, so it reaches the listeners only once the change is committed (and never for a rollback).
 * A signal is a hint to look at the database now: every receiver also polls, so a lost one costs a poll period.
 */
export const CHANNELS = {
  /** A job (run or delivery) was stopped or its export deleted: holders check their jobs at once. Payload `kind:id`. */
  jobStopped: 'em_job_stopped',
  /** A run or delivery became pending: idle workers claim at once. Payload: the kind. */
  jobQueued: 'em_job_queued',
  /** An export's schedules were created, changed or removed: schedulers tick at once. Payload: the export id. */
  schedulesChanged: 'em_schedules_changed',
} as const;

/** What the domain needs of the listener (server/infra/db/listener.ts), injected by compose.ts. */
export interface Signals {
  /** `onResubscribed`: the connection was lost and is back; signals sent meanwhile are gone, so check now. */
  subscribe(channel: string, onMessage: (payload: string) => void, onResubscribed?: () => void): () => void;
}

export async function sendSignal(db: Knex | Knex.Transaction, channel: string, payload = ''): Promise<void> {
  await db.raw('select pg_notify(?, ?)', [channel, payload]);
}
