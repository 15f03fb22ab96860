import type { Writable } from 'node:stream';
import type { FileMeta, StagedFile, Staging } from '../runs/staging.js';
import type { OpenFile } from './types.js';

/** Per-object files being stored at once; beyond this `open` waits, so a slow storage backend bounds memory. */
const MAX_PENDING_FILES = 16;

/**
 * Tracks every output a run opens in its staging folder. A writer finishing its stream does not mean the storage
 * write is done (rename, upload), so `settle()` waits for all of them before the run goes on to the manifest; and
 * `abandon()` destroys and awaits whatever is still open when the run fails or stops, so nothing is written into
 * the staging folder after the runner removed it.
 */
export class RunOutputs {
  private readonly open = new Set<{ stream: Writable; done: Promise<StagedFile> }>();
  private readonly pending = new Set<Promise<unknown>>();
  private failure: unknown = null;

  constructor(private readonly staging: Staging) {}

  private track(done: Promise<StagedFile>): void {
    const settled = done.then(
      () => {},
      (e: unknown) => {
        this.failure ??= e;
      },
    );
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
  }

  /** One output file for a streaming writer (objects.csv, objects.json …). */
  single(path: string, meta: FileMeta = {}): { stream: Writable; done: Promise<StagedFile> } {
    const entry = this.staging.openWritable(path, meta);
    this.open.add(entry);
    this.track(entry.done);
    void entry.done.finally(() => this.open.delete(entry)).catch(() => {});
    return entry;
  }

  /** `OpenFile` for the one-file-per-object writers, with a bound on files in flight. */
  readonly perObject: OpenFile = async (path) => {
    this.throwIfFailed();
    while (this.pending.size >= MAX_PENDING_FILES) {
      await Promise.race(this.pending);
      this.throwIfFailed();
    }
    return this.single(path).stream;
  };

  throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** Waits until every opened file is stored; rethrows the first storage failure. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
    this.throwIfFailed();
  }

  /** Failure path: destroys what is still open and waits until every storage write has given up. */
  async abandon(reason: unknown): Promise<void> {
    for (const entry of this.open) entry.stream.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    while (this.pending.size > 0) await Promise.all(this.pending);
  }
}
