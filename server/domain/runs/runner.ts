import type { Knex } from 'knex';
import type { Config } from '../../config.js';
import type { DatabaseOutage } from '../../infra/db/outage.js';
import type { Logger } from '../../infra/logger.js';
import type { Storage } from '../../infra/storage/storage.js';
import { logEvent } from '../event-log.js';
import type { ExportRow } from '../rows.js';
import { attemptPrefix, runPrefix } from '../storage-keys.js';
import { failRun, publishRun } from './finish.js';
import { writeManifest } from './manifest.js';
import type { Producer, Progress, RunContext } from './run-context.js';
import type { RunRow } from './queue.js';
import { Staging } from './staging.js';

export interface RunnerDeps {
  db: Knex;
  storage: Storage;
  config: Config;
  log: Logger;
  producers: Producer[];
  /** Called after a run was published (transports hook in here). */
  onPublished?: (run: RunRow) => Promise<void>;
  /** Called after a run was marked failed (e-mail notifications of failures hook in here). */
  onFailed?: (run: RunRow, reason: string) => Promise<void>;
  /** Extra housekeeping run by the worker's periodic sweep (expiry of downloads, stale deliveries). */
  onSweep?: () => Promise<void>;
  /** Told how each run attempt of this process ended and how long it took (the run duration histogram). */
  onRunEnded?: (outcome: 'done' | 'failed' | 'aborted', seconds: number) => void;
  /** Shared back-off of the process's background loops while the database is unreachable. */
  outage?: DatabaseOutage;
}

/** Thrown by producers through the signal: the run was stopped, updated, deleted or taken over. */
export class RunAborted extends Error {}

/** One sentence for `_failure_reason`: our own messages pass, anything unexpected gets a generic one. */
export function failureReason(e: unknown): string {
  const userMessage = (e as { userMessage?: unknown } | null)?.userMessage;
  if (typeof userMessage === 'string') return userMessage;
  return 'The export failed because of an internal error; the server log has the details.';
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
    });
    if (!published) throw new RunAborted('run no longer ours');
    ended('done');
    log.info({ files: staging.files.length, objects: ctx.counts.objects }, 'run published');
    // A failing hook must not reach the catch below: that would delete the files just published.
    await deps.onPublished?.({ ...run, state: 'done', files_prefix: prefix }).catch((err) => log.warn({ err }, 'onPublished hook failed'));
  } catch (e) {
    await deps.storage.deletePrefix(runPrefix(run)).catch((err) => log.warn({ err }, 'could not remove staging'));
    if (signal.aborted || e instanceof RunAborted) {
      ended('aborted');
      log.info({ reason: String(signal.reason ?? (e as Error).message) }, 'run aborted');
      return;
    }
    ended('failed');
    log.error({ err: e }, 'run failed');
    const reason = failureReason(e);
    if (await failRun(deps.db, run, workerId, reason)) {
      await deps.onFailed?.({ ...run, state: 'failed' }, reason).catch((err) => log.warn({ err }, 'onFailed hook failed'));
    }
  }
}
