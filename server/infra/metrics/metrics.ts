import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What a download or file response was, for bytes served and streams in flight. */
const SERVED_KINDS = ['file', 'zip', 'download', 'split_part', 'tar'] as const;
export type ServedKind = (typeof SERVED_KINDS)[number];

const RUN_STATES = ['pending', 'processing', 'done', 'failed'] as const;
const QUEUES = ['runs', 'deliveries'] as const;

/** The queue as the database has it at scrape time; every instance on one database reports the same figures. */
export interface QueueStats {
  runsByState: Record<string, number>;
  pending: Record<(typeof QUEUES)[number], { depth: number; oldestAgeSeconds: number }>;
}

/**
 * The process's Prometheus metrics (prom-client). One Registry per composition, not prom-client's global one, so
 * several apps in one process (the tests) don't share or double-register series. Counters and histograms count what
 * this process did; the queue gauges are read from the database on each scrape (`queueStats`), so a scrape of any
 * instance answers for the whole queue.
 */
export function createMetrics(queueStats: () => Promise<QueueStats>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // One database round trip per scrape feeds every queue gauge: prom-client collects metrics in parallel.
  // A database that doesn't answer leaves the queue series out (no stale figures) and sets database_up to 0; the
  // process metrics are still served.
  let pendingStats: Promise<QueueStats | null> | null = null;
  const stats = () => {
    pendingStats ??= queueStats().catch(() => null).finally(() => {
      setImmediate(() => {
        pendingStats = null;
      });
    });
    return pendingStats;
  };

  new Gauge({
    name: 'export_manager_database_up',
    help: '1 when the queue figures could be read from the database at this scrape, else 0.',
    registers: [registry],
    async collect() {
      this.set((await stats()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'export_manager_runs',
    help: 'Runs in the database by state.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const s = await stats();
      this.reset();
      if (s) for (const state of RUN_STATES) this.set({ state }, s.runsByState[state] ?? 0);
    },
  });
  new Gauge({
    name: 'export_manager_queue_depth',
    help: 'Pending items waiting for a worker: runs not yet claimed, deliveries not yet started.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const s = await stats();
      this.reset();
      if (s) for (const queue of QUEUES) this.set({ queue }, s.pending[queue].depth);
    },
  });
  new Gauge({
    name: 'export_manager_queue_oldest_pending_age_seconds',
    help: 'Age of the oldest pending item of the queue in seconds; 0 when none is pending.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const s = await stats();
      this.reset();
      if (s) for (const queue of QUEUES) this.set({ queue }, s.pending[queue].oldestAgeSeconds);
    },
  });

  const runDuration = new Histogram({
    name: 'export_manager_run_duration_seconds',
    help: 'Duration of run attempts executed by this process, by outcome (done, failed, aborted).',
    labelNames: ['outcome'],
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'export_manager_deliveries_total',
    help: 'Deliveries ended by this process, by transport type and outcome (done, failed, cancelled).',
    labelNames: ['type', 'outcome'],
    registers: [registry],
  });
  const servedBytes = new Counter({
    name: 'export_manager_served_bytes_total',
    help: 'Body bytes of files and archives sent to clients, by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const streamsInFlight = new Gauge({
    name: 'export_manager_served_streams_in_flight',
    help: 'File and archive response bodies being sent right now, by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'export_manager_http_request_duration_seconds',
    help: 'HTTP requests from arrival until the response was sent or abandoned, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  // Series that exist from the start, so alerts and rates see a 0 rather than nothing.
  for (const kind of SERVED_KINDS) {
    servedBytes.inc({ kind }, 0);
    streamsInFlight.set({ kind }, 0);
  }

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    runFinished(outcome: 'done' | 'failed' | 'aborted', seconds: number) {
      runDuration.observe({ outcome }, seconds);
    },
    deliveryEnded(type: string, outcome: 'done' | 'failed' | 'cancelled') {
      deliveries.inc({ type, outcome });
    },
    served: (kind: ServedKind) => ({ bytes: servedBytes.labels(kind), inFlight: streamsInFlight.labels(kind) }),
    httpRequest(method: string, route: string, status: number, seconds: number) {
      httpDuration.observe({ method, route, status: String(status) }, seconds);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
