import path from 'node:path';
import type { Knex } from 'knex';
import type Koa from 'koa';
import type { Config } from './config.js';
import { ExportService } from './domain/exports/export-service.js';
import { moduleValidators } from './domain/exports/nested-validators.js';
import type { Producer } from './domain/runs/run-context.js';
import { Worker } from './domain/runs/worker.js';
import { SessionService } from './domain/sessions/sessions.js';
import { createApp } from './http/app.js';
import type { Logger } from './infra/logger.js';
import { LocalStorage } from './infra/storage/local-storage.js';
import type { Storage } from './infra/storage/storage.js';

export interface Services {
  config: Config;
  db: Knex;
  log: Logger;
  storage: Storage;
  sessions: SessionService;
  exports: ExportService;
  producers: Producer[];
  app: Koa;
  createWorker(overrides?: Partial<ConstructorParameters<typeof Worker>[1]>): Worker;
}

/** The composition root: builds every service from the config and an open database. Used by main and by tests. */
export function composeServices(config: Config, db: Knex, log: Logger, opts: { storage?: Storage; producers?: Producer[] } = {}): Services {
  const storage = opts.storage ?? new LocalStorage(path.join(config.DATA_DIR, 'storage'));
  const sessions = new SessionService(db, config.SESSION_TTL);
  const exports = new ExportService({
    db,
    storage,
    validators: moduleValidators,
    defaultTimezone: config.TZ || 'UTC',
  });
  const producers = opts.producers ?? [];
  let shuttingDown = false;
  const app = createApp({
    config,
    db,
    log,
    sessions,
    exports,
    transportsView: (row) => row.transports,
    isShuttingDown: () => shuttingDown,
  });
  app.on('shutdown', () => {
    shuttingDown = true;
  });
  return {
    config,
    db,
    log,
    storage,
    sessions,
    exports,
    producers,
    app,
    createWorker: (overrides = {}) =>
      new Worker(
        { db, storage, config, log, producers },
        { concurrency: config.WORKER_CONCURRENCY, leaseMs: config.RUN_LEASE, ...overrides },
      ),
  };
}
