import type { JobKind } from './job-kind.js';
import { runPrefix } from '../storage-keys.js';
import { claimRuns, heartbeatRun, releaseRun, sweepExpiredRuns } from './lifecycle.js';
import type { RunRow } from './queue.js';
import type { Progress } from './run-context.js';
import { executeRun, type RunnerDeps } from './runner.js';

/**
 * Runs as jobs of the worker: claimed fairly between owners (claimRuns orders by each owner's runs in progress, so
 * no per-owner cap is needed), the heartbeat stores each run's progress with its lease.
 */
export function runJobs(deps: RunnerDeps, concurrency: number): JobKind<RunRow> {
  const progress = new Map<number, Progress>();
  return {
    name: 'run',
    concurrency,
    concurrencyPerOwner: concurrency,
    claim: async (workerId, leaseMs) => (await claimRuns(deps.db, workerId, 1, leaseMs))[0],
    describe: (run) => ({
      id: run.id,
      ownerId: Number(run.owner_id),
      fields: { export_id: run.export_id, run_id: run.id, attempt: run.attempts },
    }),
    async execute(run, workerId, signal) {
      const p: Progress = { objects_done: 0, objects_total: 0, files_done: 0, bytes_written: 0, percent: 0 };
      progress.set(run.id, p);
      try {
        await executeRun(deps, run, workerId, signal, p);
      } finally {
        progress.delete(run.id);
      }
    },
    async heartbeat(runs, workerId, leaseMs) {
      const ours = new Set<number>();
      for (const run of runs) {
        if (await heartbeatRun(deps.db, run, workerId, leaseMs, progress.get(run.id) ?? null)) ours.add(run.id);
      }
      return ours;
    },
    async handBack(runs, workerId) {
      for (const run of runs) await releaseRun(deps.db, run, workerId);
    },
    async sweepExpired() {
      const { failed } = await sweepExpiredRuns(deps.db);
      for (const run of failed) {
        await deps.storage
          .deletePrefix(runPrefix(run))
          .catch((err) =>
            deps.log.error(
              { err, export_id: run.export_id, run_id: run.id, attempt: run.attempts },
              'staging not removed',
            ),
          );
      }
    },
  };
}
