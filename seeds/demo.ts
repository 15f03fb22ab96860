import type { Knex } from 'knex';
import type { Config } from '../server/config.js';
import type { ExportService } from '../server/domain/exports/export-service.js';
import { createUser } from '../server/domain/users/users-repo.js';

/**
 * R-RUN-3: demo data for a database without users, outside production: users `demo` (DEMO_PASSWORD) and
 * `other`, and two exports of demo (one scheduled). Returns false when nothing was seeded.
 */
export async function seedDemo(db: Knex, config: Config, exports: ExportService): Promise<boolean> {
  if (config.production) return false;
  const [{ count }] = (await db('users').count({ count: '*' })) as { count: string }[];
  if (Number(count) > 0) return false;
  const demo = await createUser(db, { login: 'demo', password: config.DEMO_PASSWORD, name: 'Demo User', email: 'demo@example.com' });
  await createUser(db, { login: 'other', password: 'other', name: 'Other User', email: 'other@example.com' });
  await exports.create(demo.id, {
    export: { name: 'Demo photos', json: true, csv: true, xml: true, custom_data: [{ key: 'exported by', value: 'demo seed' }] },
  });
  await exports.create(demo.id, {
    export: { name: 'Nightly photos', type: 'export_incremental', json: true },
    _schedules: [{ hours: [3], minutes: [0] }],
  });
  return true;
}
