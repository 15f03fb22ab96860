import path from 'node:path';
import type { Knex } from 'knex';
import type { Config } from '../server/config.js';
import type { ExportService } from '../server/domain/exports/export-service.js';
import { createUser } from '../server/domain/users/users-repo.js';
import type { Storage } from '../server/infra/storage/storage.js';
import { LocalStorage } from '../server/infra/storage/local-storage.js';
import { seedDemoObjects } from './demo-data.js';

/**
 * R-RUN-3: demo data for a database without users, outside production: users `demo` (DEMO_PASSWORD) and
 * `other`, demo objects (`photo`, `author`) with generated PNG assets, and two exports of demo (one scheduled).
 * Returns false when nothing was seeded.
 */
export async function seedDemo(
  db: Knex,
  config: Config,
  exports: ExportService,
  storage: Storage = new LocalStorage(path.join(config.DATA_DIR, 'storage')),
): Promise<boolean> {
  if (config.production) return false;
  const [{ count }] = (await db('users').count({ count: '*' })) as { count: string }[];
  if (Number(count) > 0) return false;
  const demo = await createUser(db, { login: 'demo', password: config.DEMO_PASSWORD, name: 'Demo User', email: 'demo@example.com' });
  await createUser(db, { login: 'other', password: 'other', name: 'Other User', email: 'other@example.com' });
  // A few hundred objects of two object types with generated images, for the exports below to export.
  await seedDemoObjects(db, storage, demo.id);
  await exports.create(demo.id, {
    export: {
      name: 'Demo photos',
      json: true,
      csv: true,
      xml: true,
      eas_fields: { 'photo.image': { files: true } },
      custom_data: [{ key: 'exported by', value: 'demo seed' }],
    },
  });
  await exports.create(demo.id, {
    export: {
      name: 'Nightly photos',
      type: 'export_incremental',
      json: true,
      search: { objecttypes: ['photo'], sort: [{ field: 'photo.taken', order: 'DESC' }] },
      eas_fields: { 'photo.image': { files: true } },
    },
    _schedules: [{ hours: [3], minutes: [0] }],
  });
  return true;
}
