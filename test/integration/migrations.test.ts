import { readdirSync } from 'node:fs';
import { expect } from 'chai';
import { MIGRATION_NAMES } from '../../migrations/index.js';
import { createKnex } from '../../server/infra/db/knex.js';
import { migrateDownAll, migrateLatest, migrationsCurrent } from '../../server/infra/db/migrate.js';
import { createEmptyDatabase } from '../helpers/cluster.js';

describe('migrations', () => {
  it('every migration file is in the list, in name order', () => {
    const files = readdirSync('migrations')
      .filter((f) => /^\d{14}_.+\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(MIGRATION_NAMES).to.deep.equal(files);
  });

  it('run up, down and up again cleanly', async () => {
    const empty = await createEmptyDatabase();
    const db = createKnex(empty.url, 4);
    try {
      await migrateLatest(db);
      expect(await migrationsCurrent(db)).to.equal(true);
      await migrateDownAll(db);
      const { rows } = await db.raw("select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name not like 'knex_%'");
      expect(rows[0].n).to.equal(0);
      expect(await migrationsCurrent(db)).to.equal(false);
      await migrateLatest(db);
      expect(await migrationsCurrent(db)).to.equal(true);
    } finally {
      await db.destroy();
      await empty.drop();
    }
  });

  it('R-RUN-2 two instances migrating at once both succeed', async () => {
    const empty = await createEmptyDatabase();
    const a = createKnex(empty.url, 4);
    const b = createKnex(empty.url, 4);
    try {
      await Promise.all([migrateLatest(a), migrateLatest(b)]);
      expect(await migrationsCurrent(a)).to.equal(true);
    } finally {
      await a.destroy();
      await b.destroy();
      await empty.drop();
    }
  });
});
