import { expect } from 'chai';
import type { Knex } from 'knex';
import pg from 'pg';
import { errorFromDb } from '../../server/domain/errors.js';
import { createKnex } from '../../server/infra/db/knex.js';
import { classifyDbError } from '../../server/infra/db/pg-errors.js';
import { createTestDatabase } from '../helpers/cluster.js';

/** Real PostgreSQL failures, classified by infra (pg-errors.ts) and mapped to codes by the domain (errorFromDb). */
describe('PostgreSQL errors → error codes (issue 10, item 5)', function () {
  this.timeout(30_000);
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Knex;

  const failureOf = async (work: () => Promise<unknown>): Promise<unknown> => {
    try {
      await work();
    } catch (e) {
      return e;
    }
    throw new Error('expected the statement to fail');
  };
  const mapped = (e: unknown) => {
    const kind = classifyDbError(e);
    expect(kind, String(e)).to.not.equal(null);
    const err = errorFromDb(kind!, e);
    return { kind, status: err.status, code: err.code };
  };

  before(async () => {
    database = await createTestDatabase();
    db = database.db;
  });
  after(async () => {
    await database?.drop();
  });

  it('a unique violation is a 409 conflict', async () => {
    const e = await failureOf(() =>
      db.transaction(async (trx) => {
        await trx.raw('create temp table uq (id int primary key)');
        await trx.raw('insert into uq values (1)');
        await trx.raw('insert into uq values (1)');
      }),
    );
    expect(mapped(e)).to.deep.equal({ kind: 'unique_violation', status: 409, code: 'error.user.conflict' });
  });

  it('a statement cancelled by statement_timeout is a 503 query_timeout', async () => {
    const e = await failureOf(() =>
      db.transaction(async (trx) => {
        await trx.raw(`set local statement_timeout = '20ms'`);
        await trx.raw('select pg_sleep(2)');
      }),
    );
    expect(mapped(e)).to.deep.equal({ kind: 'statement_timeout', status: 503, code: 'error.server.query_timeout' });
  });

  it('a deadlock is a 503 database_busy', async () => {
    await db.raw('create table dl (id int primary key, v int)');
    await db.raw('insert into dl values (1, 0), (2, 0)');
    const a = await db.transaction();
    const b = await db.transaction();
    try {
      await a.raw('update dl set v = 1 where id = 1');
      await b.raw('update dl set v = 1 where id = 2');
      // Each now waits for the other's row: PostgreSQL aborts one of them after deadlock_timeout.
      const results = await Promise.allSettled([
        a.raw('update dl set v = 2 where id = 2'),
        b.raw('update dl set v = 2 where id = 1'),
      ]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(failed, 'one side is the deadlock victim').to.not.equal(undefined);
      expect(mapped(failed!.reason)).to.deep.equal({
        kind: 'deadlock',
        status: 503,
        code: 'error.server.database_busy',
      });
    } finally {
      await a.rollback().catch(() => {});
      await b.rollback().catch(() => {});
    }
  });

  it('a lost or refused connection is a 503 database_unavailable', async () => {
    const client = new pg.Client({ connectionString: database.url });
    client.on('error', () => {});
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    await db.raw('select pg_terminate_backend(?)', [rows[0].pid]);
    const terminated = await failureOf(() => client.query('select 1'));
    await client.end().catch(() => {});
    expect(mapped(terminated)).to.deep.equal({
      kind: 'connection_lost',
      status: 503,
      code: 'error.server.database_unavailable',
    });

    const nowhere = createKnex('postgres://postgres@127.0.0.1:1/none', 1);
    try {
      const refused = await failureOf(() => nowhere.raw('select 1'));
      expect(mapped(refused)).to.include({ kind: 'connection_lost', status: 503 });
    } finally {
      await nowhere.destroy();
    }
  });

  it('any other PostgreSQL error is a 500 database error; errors that are not the database are not classified', async () => {
    const e = await failureOf(() => db.raw('select 1 / 0'));
    expect(mapped(e)).to.deep.equal({ kind: 'other', status: 500, code: 'error.server.database' });
    expect(classifyDbError(new Error('x'))).to.equal(null);
    expect(classifyDbError(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' }))).to.equal(null);
  });
});
