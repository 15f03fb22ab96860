import type { Knex } from 'knex';
import type { Config } from '../../config.js';
import { isConnectionError } from '../../infra/db/outage.js';
import type { Logger } from '../../infra/logger.js';
import type { Storage } from '../../infra/storage/storage.js';
import { logEvent } from '../event-log.js';
import type { ExportRow } from '../rows.js';
import { attemptPrefix, runPrefix } from '../storage-keys.js';
import { failRun, publishRun } from './lifecycle.js';
import { writeManifest } from './manifest.js';
import type { Producer, Progress, RunContext } from './run-context.js';
import type { RunRow } from './queue.js';
import { Staging } from './staging.js';
import { RunFailure } from '../errors.js';
import { JobAborted } from './job-kind.js';

export interface RunnerDeps {
  db: Knex;
  storage: Storage;
  config: Config;
  log: Logger;
  producers: Producer[];
  /** Told how each run attempt of this process ended and how long it took (the run duration histogram). */
  onRunEnded?: (outcome: 'done' | 'failed' | 'aborted', seconds: number) => void;
}

/** Thrown by producers through the signal: the run was stopped, updated, deleted or taken over. */
class RunAborted extends JobAborted {}

/** One sentence for `_failure_reason`: our own messages pass, anything unexpected gets a generic one. */
function failureReason(e: unknown): string {
  if (e instanceof RunFailure) return e.userMessage;
  if (storageFull(e)) {
    return "The export could not be written because the server's storage is full; the previous files are kept. Ask the administrator to free space, then start the export again.";
  }
  return 'The export failed because of an internal error; the server log has the details.';
}

/** ENOSPC / EDQUOT anywhere in the cause chain (a producer may have wrapped the storage's error). */
function storageFull(e: unknown): boolean {
  for (let c = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  }
  return false;
}

/**
 * Drives one claimed run: staging folder, producers, manifest, atomic publish. A failed or aborted run removes its
 * staging folder, so the previously published files are never touched (R-ENG-4).
 */
export async function executeRun(
  deps: RunnerDeps,
  run: RunRow,
  workerId: string,
  signal: AbortSignal,
  progress: Progress,
): Promise<void> {
  const prefix = attemptPrefix(run);
  const log = deps.log.child({ run_id: run.id, export_id: run.export_id, attempt: run.attempts });
  const started = performance.now();
  const ended = (outcome: 'done' | 'failed' | 'aborted') => deps.onRunEnded?.(outcome, (performance.now() - started) / 1000);
  try {
    const exp = (await deps.db('exports').where({ id: run.export_id }).first()) as ExportRow | undefined;
    if (!exp) throw new RunAborted('export deleted');
    // A previous attempt of this run may have left files behind when its worker died.
    await deps.storage.deletePrefix(runPrefix(run));
    await logEvent(deps.db, exp.id, 'EXPORT_START', { run_id: run.id, trigger: run.trigger, attempt: run.attempts });
    const staging = new Staging(deps.storage, prefix, signal, (n) => {
      progress.bytes_written += n;
    });
    const ctx: RunContext = { ...deps, log, run, export: exp, signal, staging, progress, counts: { objects: 0, deleted: 0 } };
    for (const producer of deps.producers) {
      signal.throwIfAborted();
      await producer.produce(ctx);
    }
    signal.throwIfAborted();
    await writeManifest(ctx, new Date());
    progress.files_done = staging.files.length;
    progress.percent = 100;
    const published = await publishRun(deps.db, run, workerId, {
      prefix,
      files: staging.files,
      objects: ctx.counts.objects,
      progress,
      exportTtlDays: deps.config.EXPORT_TTL_DAYS,
    });
    if (!published) throw new RunAborted('run no longer ours');
    ended('done');
    log.info({ files: staging.files.length, objects: ctx.counts.objects }, 'run published');
  } catch (e) {
    if (isConnectionError(e)) {
      // The database went away (a restart, a failover): the attempt is neither done nor failed. The lease expires and
      // the sweeper retries the run; the retry removes this attempt's staging. Nothing is deleted here, because a
      // publish whose commit answer was lost may have published these very files.
      ended('aborted');
      log.warn({ reason: (e as Error).message }, 'run interrupted: the database is unreachable; the run is retried when its lease expires');
      return;
    }
    await deps.storage.deletePrefix(runPrefix(run)).catch((err) => log.warn({ err }, 'could not remove staging'));
    if (signal.aborted || e instanceof RunAborted) {
      ended('aborted');
      log.info({ reason: String(signal.reason ?? (e as Error).message) }, 'run aborted');
      return;
    }
    ended('failed');
    log.error({ err: e }, 'run failed');
    const reason = failureReason(e);
    await failRun(deps.db, run, workerId, reason);
  }
}
