import type { Knex } from 'knex';
import type Koa from 'koa';
import type { Config } from './config.js';
import { ExportService } from './domain/exports/export-service.js';
import { moduleValidators } from './domain/exports/nested-validators.js';
import { DataProducer } from './domain/produce/data-producer.js';
import type { Producer } from './domain/runs/run-context.js';
import { Worker } from './domain/runs/worker.js';
import { expireDownloads, setExpiry } from './domain/runs/expiry.js';
import { Scheduler } from './domain/schedules/scheduler.js';
import { DeliveryRunner, stopDeliveries, sweepStaleDeliveries } from './domain/transports/delivery-runner.js';
import { createMailQuota, purgeMailSends } from './domain/transports/mail-quota.js';
import { createTransportRegistry, type TransportRegistry, type TransportRegistryDeps } from './domain/transports/registry.js';
import { createTransportsValidator, createTransportsView } from './domain/transports/stored-transports.js';
import { loadOrCreateSecretKeySync } from './infra/secrets/secret-box.js';
import { SessionService } from './domain/sessions/sessions.js';
import { purgeStaleThrottles } from './domain/sessions/throttle.js';
import { createApp } from './http/app.js';
import { dataRouters } from './http/routes/data-routes.js';
import { fileRouters, pageRoutes } from './http/routes/file-routes.js';
import { openApiRoutes } from './http/routes/openapi-routes.js';
import { DatabaseOutage } from './infra/db/outage.js';
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
  createWorker(overrides?: Partial<ConstructorParameters<typeof Worker>[1]>): Worker;
  /** Schedule ticker (R-SCHED); main starts it for ROLE all|worker, tests drive `tick()` with an injected clock. */
  scheduler: Scheduler;
  transports: TransportRegistry;
  /** Runs transports after runs (R-TR-1); its hooks are wired into every worker built here. */
  deliveries: DeliveryRunner;
  /** This process's Prometheus metrics (GET /metrics, and the worker's METRICS_PORT). */
  metrics: Metrics;
}

/** Options for schedules and transports (tests inject a clock, fast retries, a mailer, short timeouts). */
export interface ScheduleTransportOptions {
  now?: () => Date;
  transportDeps?: Partial<TransportRegistryDeps>;
  deliveryRetryDelaysMs?: number[];
}

/** The composition root: builds every service from the config and an open database. Used by main and by tests. */
export function composeServices(config: Config, db: Knex, log: Logger, opts: { storage?: Storage; producers?: Producer[] } & ScheduleTransportOptions = {}): Services {
  const storage = opts.storage ?? createStorage(config);
  // One back-off for every background loop: a lost database is logged once per retry step, not per loop and tick.
  const outage = new DatabaseOutage(log);
  const metrics = createMetrics(() => queueFigures(db));
  // The secret key is loaded once; a production start without SECRET_KEY fails here. It seals transport secrets
  // (issue 5) and signs unauthenticated session tokens.
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
  });
  const deliveries = new DeliveryRunner({
    db,
    storage,
    log,
    registry: transports,
    secretKey,
    publicUrl: config.PUBLIC_URL,
    exportTtlDays: config.EXPORT_TTL_DAYS,
    retryDelaysMs: opts.deliveryRetryDelaysMs,
    concurrency: config.DELIVERY_CONCURRENCY,
    concurrencyPerOwner: config.DELIVERY_CONCURRENCY_PER_OWNER,
    outage,
    onEnded: metrics.deliveryEnded,
  });
  const exports = new ExportService({
    db,
    storage,
    validators: { ...moduleValidators, transports: createTransportsValidator(transports, secretKey) },
    onSchedulesChanged: (trx, id) => scheduler.refresh(id, trx),
    stopDeliveries: (trx, id) => stopDeliveries(trx, id, 'The delivery was stopped by the user.'),
    defaultTimezone: config.TZ || 'UTC',
  });
  // The data producer writes what an export defines (issue 3); tests may pass their own producers instead.
  const producers = opts.producers ?? [new DataProducer()];
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
    // Files, archives and passkey downloads (issue 4) and the root page (R-FILE-10).
    extraRouters: [
      ...dataRouters({ db, storage, sessions, config }),
      ...fileRouters({ db, storage, sessions, config, metrics }),
      pageRoutes(),
      openApiRoutes(),
    ],
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
    scheduler,
    transports,
    deliveries,
    metrics,
    createWorker: (overrides = {}) =>
      new Worker(
        {
          db,
          storage,
          config,
          log,
          producers,
          onPublished: deliveries.onPublished,
          onFailed: deliveries.onFailed,
          onRunEnded: metrics.runFinished,
          outage,
          // Each sweep on its own, so one failing (for one owner's row) does not stop the others.
          onSweep: async () => {
            const steps = {
              expiry: () => setExpiry(db, config.EXPORT_TTL_DAYS).then(() => expireDownloads(db, storage)),
              'stale deliveries': () => sweepStaleDeliveries(db),
              'mail counts': () => purgeMailSends(db),
              sessions: () => sessions.purgeExpired(),
              throttles: () => purgeStaleThrottles(db),
            };
            const results = await Promise.allSettled(Object.values(steps).map((step) => step()));
            const names = Object.keys(steps);
            const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ step: names[i], err: r.reason }] : []));
            // Every failure is logged; the first is thrown for the sweep's own handling (a lost connection backs off).
            for (const f of failed.slice(1)) log.error({ err: f.err, step: f.step }, 'sweeping failed');
            if (failed.length > 0) throw failed[0].err;
          },
        },
        { concurrency: config.WORKER_CONCURRENCY, leaseMs: config.RUN_LEASE, ...overrides },
      ),
  };
}
