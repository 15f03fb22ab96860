import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

export type { Knex };

// bigint ids and counts come back as JS numbers: ids stay far below 2^53, and numbers keep the API JSON simple.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number.parseFloat(v));

/**
 * `statementTimeoutMs` (STATEMENT_TIMEOUT) goes into every connection's startup packet, so it costs no round trip:
 * no statement of the pool runs longer unless a transaction lifts it with `SET LOCAL statement_timeout` (the
 * producer's cursor does, see produce/data-producer.ts). Without it (migrations, tests' admin pools) none applies.
 */
export function createKnex(connectionString: string, poolMax = 10, statementTimeoutMs?: number): Knex {
  return knexFactory({
    client: 'pg',
    connection: {
      connectionString,
      application_name: 'export-manager',
      ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}),
    },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
}
