import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

export type { Knex };

// bigint ids and counts come back as JS numbers: ids stay far below 2^53, and numbers keep the API JSON simple.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number.parseFloat(v));

export function createKnex(connectionString: string, poolMax = 10): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString, application_name: 'export-manager' },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
}
