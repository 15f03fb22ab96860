import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import supertest from 'supertest';
import { type Config, DEFAULTS, loadConfig, parseDuration } from '../../server/config.js';
import { composeServices, type ScheduleTransportOptions, type Services } from '../../server/compose.js';
import type { Producer } from '../../server/domain/runs/run-context.js';
import { createUser } from '../../server/domain/users/users-repo.js';
import { createHttpServer } from '../../server/http/server.js';
import { pino } from 'pino';
import { createLogger } from '../../server/infra/logger.js';
import { rememberSecret, suiteLogStream } from './log-capture.js';
import { createTestDatabase } from './cluster.js';
import { checkedAgent } from './openapi-agent.js';
import { startS3Server } from '../integration/transports/servers/s3-server.js';

export interface TestApp extends Services {
  request: ReturnType<typeof supertest>;
  server: Server;
  dataDir: string;
  /** Creates a user and returns an authenticated token. */
  login(login: string, password?: string): Promise<{ token: string; userId: number }>;
  close(): Promise<void>;
}

/** A real app on a fresh database and a temp DATA_DIR, served over loopback HTTP. No worker unless a test starts one. */
export async function startTestApp(
  opts: {
    env?: Record<string, string>;
    producers?: Producer[];
    /** Clock, transport and retry overrides for schedule/transport tests. */
    compose?: ScheduleTransportOptions;
    /** Where log lines go (tests that assert on them); LOG_LEVEL still comes from env / TEST_LOG_LEVEL. */
    logDestination?: NodeJS.WritableStream;
  } = {},
): Promise<TestApp> {
  // The app's pool gets STATEMENT_TIMEOUT as openDatabase gives it in production.
  const statementTimeoutMs = parseDuration(opts.env?.STATEMENT_TIMEOUT ?? DEFAULTS.STATEMENT_TIMEOUT) ?? undefined;
  const database = await createTestDatabase({ statementTimeoutMs });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'em-test-data-'));
  // TEST_STORAGE=s3: the same tests against an s3rver of their own (tests that look into DATA_DIR/storage fail).
  const s3 = process.env.TEST_STORAGE === 's3' && !opts.env?.STORAGE ? await startS3Server(path.join(dataDir, 's3rver'), 'test') : null;
  const config: Config = loadConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    WORKER_CONCURRENCY: '2',
    ...(s3
      ? { STORAGE: 's3', S3_ENDPOINT: s3.endpoint, S3_BUCKET: 'test', S3_FORCE_PATH_STYLE: 'true', S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' }
      : {}),
    ...opts.env,
  });
  // Besides where the test wants them (stdout with TEST_LOG_LEVEL), every line at debug goes to the run's capture,
  // which the root hook greps for the secrets used (issue 12).
  const wanted = opts.logDestination ?? (config.LOG_LEVEL === 'silent' ? null : process.stdout);
  const streams: pino.StreamEntry[] = [{ level: 'debug', stream: suiteLogStream() }];
  if (wanted) streams.push({ level: config.LOG_LEVEL as pino.Level, stream: wanted });
  const log = createLogger(config.LOG_LEVEL === 'trace' ? 'trace' : 'debug', pino.multistream(streams) as unknown as NodeJS.WritableStream);
  const services = composeServices(config, database.db, log, { producers: opts.producers, ...opts.compose });
  // As main does before serving: the storage root exists (and /readyz finds it).
  await services.storage.prepare?.();
  const server = createHttpServer(services.app, config);
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  // Every response a test receives through `request` is held against the OpenAPI document (SPEC §13).
  const request = checkedAgent(supertest(server));
  return {
    ...services,
    request,
    server,
    dataDir,
    async login(login, password = `${login}-password`) {
      const user = await createUser(database.db, { login, password });
      const s = await request.get('/api/v1/session').expect(200);
      await request
        .post('/api/v1/session/authenticate')
        .query({ token: s.body.token, login, password })
        .expect(200);
      rememberSecret(password);
      rememberSecret(s.body.token);
      return { token: s.body.token as string, userId: user.id };
    },
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      // A test that left a worker or scheduler running would otherwise keep the listening connection open.
      await services.signals.close();
      await services.storage.close?.();
      await s3?.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a truthy value (or throws after `ms`). For waiting on workers, never on wall-clock schedules. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, ms = 10_000, every = 50): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
