import type { Knex } from 'knex';
import type { Config } from '../../config.js';
import type { Logger } from '../../infra/logger.js';
import type { Storage } from '../../infra/storage/storage.js';
import type { ExportRow } from '../rows.js';
import type { RunRow } from './queue.js';
import type { Staging } from './staging.js';

export interface Progress {
  objects_done: number;
  objects_total: number;
  files_done: number;
  bytes_written: number;
  percent: number;
}

export interface RunContext {
  db: Knex;
  storage: Storage;
  config: Config;
  log: Logger;
  run: RunRow;
  export: ExportRow;
  signal: AbortSignal;
  staging: Staging;
  progress: Progress;
  /** Objects exported by this run (the producers add to it; the manifest reports it). */
  counts: { objects: number; deleted: number };
}

/**
 * The seam the export engine plugs into: producers run in order inside a run and write through
 * `ctx.staging`; the manifest is written after all of them. They must honour `ctx.signal`.
 */
export interface Producer {
  readonly name: string;
  produce(ctx: RunContext): Promise<void>;
}
