import Router from '@koa/router';
import type { Knex } from 'knex';
import { migrationsCurrent } from '../../infra/db/migrate.js';
import type { Logger } from '../../infra/logger.js';
import type { Storage } from '../../infra/storage/storage.js';

/** A readiness check that doesn't answer within this is failed: a load balancer's probe must not hang. */
const CHECK_TIMEOUT_MS = 3000;

type Check = () => Promise<string | null>;

const within = async (check: Check): Promise<string | null> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check(), timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * R-RUN-5: /healthz says the process is up; /readyz that it can serve: the database answers, no migration is
 * pending, the storage backend is reachable, and the process is not shutting down (503 from the moment SIGTERM
 * starts the shutdown, so a load balancer drains it). A 503 names the failing parts; what went wrong in detail is
 * logged, not told to the anonymous prober (it could name hosts or folders).
 */
/** What a failing check means, for the 503's reason (the detail goes to the log, not to an anonymous prober). */
const FAILED: Record<string, string> = {
  database: 'the database does not answer',
  migrations: 'the pending migrations cannot be read',
  storage: 'the storage is not accessible',
};

export function healthRoutes(deps: { db: Knex; storage: Storage; log: Logger; isShuttingDown: () => boolean }) {
  const { db, storage, log } = deps;
  const checks: Record<string, Check> = {
    database: async () => {
      await db.raw('select 1');
      return null;
    },
    migrations: async () => ((await migrationsCurrent(db)) ? null : 'migrations are pending'),
    storage: async () => {
      await storage.check?.();
      return null;
    },
  };
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (deps.isShuttingDown()) {
      ctx.status = 503;
      ctx.body = { status: 'not ready', failing: ['shutdown'], reason: 'shutting down' };
      return;
    }
    const names = Object.keys(checks);
    const results = await Promise.all(
      names.map((name) =>
        within(checks[name]).catch((e: unknown) => {
          (ctx.state.log ?? log).warn({ check: name, message: (e as Error).message }, 'readiness check failed');
          return FAILED[name] ?? `the ${name} check failed`;
        }),
      ),
    );
    // Migrations can't be known without the database: only the database is named then.
    const problems = Object.fromEntries(names.map((n, i) => [n, results[i]]).filter(([, p]) => p !== null));
    if (problems.database) delete problems.migrations;
    const failing = Object.keys(problems);
    if (failing.length === 0) {
      ctx.body = { status: 'ready' };
      return;
    }
    ctx.status = 503;
    ctx.body = {
      status: 'not ready',
      failing,
      reason: failing.map((n) => `${n}: ${problems[n]}`).join('; '),
    };
  });
  return router;
}
