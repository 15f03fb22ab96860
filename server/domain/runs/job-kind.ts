/**
 * What the worker needs to know about one kind of job (a run, a delivery). Every kind keeps its jobs in a table of
 * its own with the same life cycle: claimed by one SKIP LOCKED statement, held under a lease that the worker's
 * heartbeat renews, handed back on a graceful stop, taken over by the lease sweeper when the holder died. The worker
 * knows no kind by name: compose.ts hands it the kinds, so the run queue never imports the transports.
 */
export interface JobKind<J = unknown> {
  /** 'run', 'delivery': the label of the worker's log lines and of `worker.active(kind)`. */
  readonly name: string;
  /** Jobs of this kind one worker executes at once. */
  readonly concurrency: number;
  /** Of those, at most this many for one owner (the claim skips owners at their cap). */
  readonly concurrencyPerOwner: number;
  /**
   * Claims one due job for `workerId` in one statement, skipping rows other workers hold and owners in `busyOwners`
   * (those at their cap in this worker). Undefined when none is due.
   */
  claim(workerId: string, leaseMs: number, busyOwners: number[]): Promise<J | undefined>;
  /** The job's id, its owner and the fields every log line about it carries (export id, run id, attempt). */
  describe(job: J): { id: number; ownerId: number; fields: Record<string, unknown> };
  /**
   * Executes a claimed job and records its outcome; every write is guarded by `locked_by = workerId`, so a job
   * stopped or taken over meanwhile changes nothing. Returns when done, also when `signal` aborted it.
   */
  execute(job: J, workerId: string, signal: AbortSignal): Promise<void>;
  /** Renews the leases of `jobs`; returns the ids still ours (the others were stopped, deleted or taken over). */
  heartbeat(jobs: J[], workerId: string, leaseMs: number): Promise<Set<number>>;
  /** Graceful stop: the jobs go back to the queue without counting the attempt. */
  handBack(jobs: J[], workerId: string): Promise<void>;
  /** Takes over jobs whose lease expired (their worker died): retried, or failed after `max_attempts`. */
  sweepExpired(): Promise<void>;
}

/** The abort reason the worker gives a job it stops (shutdown, stop or delete seen by the heartbeat, crash test). */
export class JobAborted extends Error {}
