/** The row types of the run queue; every write of a run's state is in lifecycle.ts. */
export type RunTrigger = 'create' | 'start' | 'update' | 'schedule' | 'catchup';

export interface RunRow {
  id: number;
  export_id: number;
  owner_id: number;
  trigger: RunTrigger;
  state: 'pending' | 'processing' | 'done' | 'failed';
  attempts: number;
  max_attempts: number;
  locked_by: string | null;
  lease_expires_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  failure_reason: string | null;
  progress: Record<string, number> | null;
  files_prefix: string | null;
  fire_time: Date | null;
}

export const ACTIVE_STATES = ['pending', 'processing'] as const;

/** The columns of RunRow: reads of whole runs select these, not `*` (a published run also holds its archive index). */
export const RUN_COLUMNS = [
  'id', 'export_id', 'owner_id', 'trigger', 'state', 'attempts', 'max_attempts', 'locked_by', 'lease_expires_at',
  'created_at', 'started_at', 'finished_at', 'failure_reason', 'progress', 'files_prefix', 'fire_time',
] as const;
