import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../logger.js';

export type { Knex };

// bigint ids and counts come back as JS numbers: ids stay far below 2^53, and numbers keep the API JSON simple.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number.parseFloat(v));

// The pool's own reports of a lost connection (one per attempt, with a stack) are dropped: the background loops
// report an outage once per back-off step (outage.ts), and requests report their own failure.
const CONNECTION_NOISE = /^(Acquire connection error|Connection Error):/;

export interface KnexOptions {
  /** Where knex's warnings go (console without one). */
  log?: Logger;
  /**
   * STATEMENT_TIMEOUT, sent in every connection's startup packet, so it costs no round trip: no statement of the pool
   * runs longer unless a transaction lifts it with `SET LOCAL statement_timeout` (the producer's cursor does, see
   * produce/data-producer.ts). Without it (migrations, tests' admin pools) none applies.
   */
  statementTimeoutMs?: number;
}

export function createKnex(connectionString: string, poolMax = 10, opts: KnexOptions = {}): Knex {
  const { log, statementTimeoutMs } = opts;
  const warn = (message: unknown) => {
    if (CONNECTION_NOISE.test(String(message))) return;
    if (log) log.warn({ knex: String(message) }, 'knex warning');
    else console.warn(message);
  };
  return knexFactory({
    client: 'pg',
    log: { warn, error: warn, deprecate: warn, debug: () => {} },
    connection: {
      connectionString,
      application_name: 'export-manager',
      ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}),
    },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
}
