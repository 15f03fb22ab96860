import type { Knex } from 'knex';
import type Koa from 'koa';
import type { Config } from './config.js';
import { AssetService } from './domain/assets/asset-service.js';
import { ExportService } from './domain/exports/export-service.js';
import { listRuns } from './domain/exports/run-history.js';
import { StatusWatch } from './domain/exports/status-watch.js';
import { DownloadService } from './domain/files/download-service.js';
import { FileService } from './domain/files/file-service.js';
import { listFolder } from './domain/files/folder-listing.js';
import { ObjectService } from './domain/objects/object-service.js';
import { moduleValidators } from './domain/exports/nested-validators.js';
import { DataProducer } from './domain/produce/data-producer.js';
import type { Producer } from './domain/runs/run-context.js';
import { Worker, type WorkerOptions } from './domain/runs/worker.js';
import { runJobs } from './domain/runs/run-jobs.js';
import { deleteSupersededFiles } from './domain/runs/housekeeping.js';
import { expireDownloads, setExpiry } from './domain/runs/expiry.js';
import { Scheduler } from './domain/schedules/scheduler.js';
import { searchPage } from './domain/search/index.js';
import { deliveryJobs, stopDeliveries } from './domain/transports/deliveries.js';
import { createMailQuota, purgeMailSends } from './domain/transports/mail-quota.js';
import { createTransportRegistry, type TransportRegistry, type TransportRegistryDeps } from './domain/transports/registry.js';
import { createTransportsValidator, createTransportsView } from './domain/transports/stored-transports.js';
import { loadOrCreateSecretKeySync } from './infra/secrets/secret-box.js';
import { SessionService } from './domain/sessions/sessions.js';
import { purgeStaleThrottles } from './domain/sessions/throttle.js';
import { createApp } from './http/app.js';
import { dataRouters } from './http/routes/data-routes.js';
import { fileRoutes, pageRoutes } from './http/routes/file-routes.js';
import { openApiRoutes } from './http/routes/openapi-routes.js';
import { pageExportRouters, schedulePreviewRouters } from './http/routes/page-api-routes.js';
import { DatabaseOutage } from './infra/db/outage.js';
import { listenerConnection, PgListener } from './infra/db/listener.js';
import type { Signals } from './domain/signals.js';
import type { Logger } from './infra/logger.js';
import { createMetrics, type Metrics } from './infra/metrics/metrics.js';
import { queueFigures } from './domain/runs/queue-stats.js';
import { createStorage } from './infra/storage/index.js';
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
  /** A worker executing runs and deliveries; `concurrency` overrides WORKER_CONCURRENCY (the runs at once). */
  createWorker(overrides?: Partial<WorkerOptions & { concurrency: number }>): Worker;
  /** Schedule ticker (R-SCHED); main starts it for ROLE all|worker, tests drive `tick()` with an injected clock. */
  scheduler: Scheduler;
  transports: TransportRegistry;
  /** This process's Prometheus metrics (GET /metrics, and the worker's METRICS_PORT). */
  metrics: Metrics;
  /** The status long-poll's waits. */
  statusWatch: StatusWatch;
  /**
   * LISTEN/NOTIFY between instances (R-SCALE-2): its one connection opens with the first subscriber (a started worker
   * or scheduler) and closes after the last; main closes it at shutdown.
   */
  signals: Signals & { close(): Promise<void> };
}

/** Options for schedules and transports (tests inject a clock, fast retries, a mailer, short timeouts). */
export interface ScheduleTransportOptions {
  now?: () => Date;
  transportDeps?: Partial<TransportRegistryDeps>;
  /** Base of the deliveries' retry back-off (DEFAULT_RETRY_BASE_MS). */
  deliveryRetryBaseMs?: number;
}

/** The composition root: builds every service from the config and an open database. Used by main and by tests. */
export function composeServices(config: Config, db: Knex, log: Logger, opts: { storage?: Storage; producers?: Producer[] } & ScheduleTransportOptions = {}): Services {
  const storage = opts.storage ?? createStorage(config);
  // A dedicated connection outside the pool: LISTEN belongs to one session (see infra/db/listener.ts).
  const signals = new PgListener({ connection: listenerConnection(db), log });
  // One back-off for every background loop: a lost database is logged once per retry step, not per loop and tick.
  const outage = new DatabaseOutage(log);
  const metrics = createMetrics(() => queueFigures(db));
  // The secret key is loaded once; a production start without SECRET_KEY fails here. It seals transport secrets
  // and signs unauthenticated session tokens.
  const secretKey = loadOrCreateSecretKeySync(config.DATA_DIR, config.SECRET_KEY, config.production);
  const sessions = new SessionService(db, config.SESSION_TTL, secretKey);
  const transports = createTransportRegistry({
    allowHosts: config.TRANSPORT_ALLOW_HOSTS,
    directoryRoots: config.TRANSPORT_DIRECTORY_ROOTS,
    smtpUrl: config.SMTP_URL || null,
    webhookDeadlineMs: config.WEBHOOK_DEADLINE,
    mailQuota: createMailQuota(db, {
      maxRecipients: config.MAIL_MAX_RECIPIENTS,
      maxPerDay: config.MAIL_MAX_PER_DAY,
      maxRecipientsPerDay: config.MAIL_MAX_RECIPIENTS_PER_DAY,
    }),
    ...opts.transportDeps,
  });
  const scheduler = new Scheduler({
    db,
    log,
    defaultTime: config.SCHEDULE_DEFAULT_TIME,
    catchupMs: config.SCHEDULE_CATCHUP,
    defaultTimezone: config.TZ || 'UTC',
    now: opts.now,
    outage,
    signals,
  });
  const exports = new ExportService({
    db,
    storage,
    validators: { ...moduleValidators, transports: createTransportsValidator(transports, secretKey) },
    onSchedulesChanged: (trx, id) => scheduler.refresh(id, trx),
    stopDeliveries: (trx, id) => stopDeliveries(trx, id, 'The delivery was stopped by the user.'),
    defaultTimezone: config.TZ || 'UTC',
  });
  // The data producer writes what an export defines; tests may pass their own producers instead.
  const producers = opts.producers ?? [new DataProducer()];
  // The status long-poll's shared check (GET …/status?wait=), answered at once on shutdown.
  const statusWatch = new StatusWatch({ db, log });
  let shuttingDown = false;
  const app = createApp({
    config,
    db,
    log,
    sessions,
    exports,
    transportsView: createTransportsView({ db, registry: transports, publicUrl: config.PUBLIC_URL }),
    isShuttingDown: () => shuttingDown,
    metrics,
    storage,
    // Services are built here and handed to routers, which construct nothing and never see the database.
    extraRouters: [
      ...dataRouters({
        objects: new ObjectService(db),
        assets: new AssetService(db, storage),
        searchPage: (ownerId, def) => searchPage(db, ownerId, def),
        sessions,
        config,
      }),
      // The schedule preview for the web page.
      ...schedulePreviewRouters({
        sessions,
        bodyLimit: config.BODY_LIMIT,
        schedules: { defaultTime: config.SCHEDULE_DEFAULT_TIME, defaultTimezone: config.TZ || 'UTC' },
      }),
      // The root page (R-FILE-10).
      pageRoutes(),
      openApiRoutes(),
    ],
    // Files, archives and passkey downloads, under both export prefixes.
    exportRouters: [
      fileRoutes({
        files: new FileService({ db, storage }),
        downloads: new DownloadService({ db, storage }),
        sessions,
        frontendUrl: config.FRONTEND_URL,
        metrics,
      }),
      // Run history, folder listing and the status long-poll for the web page.
      ...pageExportRouters({
        listRuns: (ownerId, exportId, query) => listRuns(db, ownerId, exportId, query),
        listFolder: (ownerId, exportId, query) => listFolder(db, ownerId, exportId, query),
        sessions,
        watch: statusWatch,
      }),
    ],
  });
  app.on('shutdown', () => {
    shuttingDown = true;
    statusWatch.close();
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
    scheduler,
    transports,
    metrics,
    statusWatch,
    signals,
    createWorker: ({ concurrency = config.WORKER_CONCURRENCY, ...overrides } = {}) =>
      new Worker(
        {
          log,
          outage,
          signals,
          // The job kinds the worker dispatches to: runs, and the deliveries their publication queues (R-TR-1).
          kinds: [
            runJobs({ db, storage, config, log, producers, onRunEnded: metrics.runFinished }, concurrency),
            deliveryJobs({
              db,
              storage,
              log,
              registry: transports,
              secretKey,
              publicUrl: config.PUBLIC_URL,
              concurrency: config.DELIVERY_CONCURRENCY,
              concurrencyPerOwner: config.DELIVERY_CONCURRENCY_PER_OWNER,
              retryBaseMs: opts.deliveryRetryBaseMs,
              onEnded: metrics.deliveryEnded,
            }),
          ],
          // Each step on its own, so one failing (for one owner's row) does not stop the others.
          housekeeping: {
            'superseded files': () =>
              deleteSupersededFiles(db, storage, { ttlMs: config.PREVIOUS_RUNS_TTL, kept: config.PREVIOUS_RUNS_KEPT }),
            expiry: () => setExpiry(db, config.EXPORT_TTL_DAYS).then(() => expireDownloads(db, storage)),
            'mail counts': () => purgeMailSends(db),
            sessions: () => sessions.purgeExpired(),
            throttles: () => purgeStaleThrottles(db),
          },
        },
        { leaseMs: config.RUN_LEASE, ...overrides },
      ),
  };
}
