import { createUser } from '../../server/domain/users/users-repo.js';
import { startChildServer } from '../child-server.js';
import { startBenchServer } from '../env.js';
import { type BenchSection, report, runAllFormats } from './section.js';

const MB = 1024 * 1024;
const OBJECTS = Number(process.env.BENCH_BIG_OBJECTS ?? 20);
const OBJECT_MB = 10;

/**
 * R-ROB-8 / R-PERF-3 with big objects: a worker (compiled, own process, as `npm start` runs it) produces CSV + JSON
 * + XML of 20 objects of 10 MB each in one run. Batches bounded by BATCH_MAX_BYTES (default) beside the same run
 * with the byte bound lifted to 1 GiB (what counting objects alone did), peak RSS of the worker process each time.
 */
export const bigObjectsSection: BenchSection = {
  name: 'bigobjects',
  title: `worker RSS producing CSV + JSON + XML of ${OBJECTS} objects of ${OBJECT_MB} MB (R-ROB-8, R-PERF-3)`,
  async run() {
    const bench = await startBenchServer();
    const { db } = bench.services;
    try {
      const user = await createUser(db, { login: 'big', password: 'big-password' });
      // Text that needs escaping in every format (`<`, `&`, `"`), 10 MB per object.
      await db.raw(
        `insert into objects (owner_id, objecttype, data)
         select ?, 'doc', jsonb_build_object('n', g, 'text', repeat('ab<&" ', ? / 6)) from generate_series(1, ?) g`,
        [user.id, OBJECT_MB * 1_000_000, OBJECTS],
      );
      const run = async (label: string, env: Record<string, string>) => {
        const worker = await startChildServer('app', {
          DATABASE_URL: bench.dbUrl,
          DATA_DIR: bench.services.config.DATA_DIR,
          WORKER_CONCURRENCY: '1',
          ...env,
        });
        try {
          const idle = await worker.rss();
          const t0 = performance.now();
          const { peak } = await worker.peakRss(async () => {
            await runAllFormats(db, () =>
              bench.services.exports.create(user.id, { export: { name: label, csv: true, json: true, xml: true } }),
            );
          });
          const seconds = (performance.now() - t0) / 1000;
          report(`${label}: peak RSS of the worker`, peak / MB, 'MB', undefined, `< 250 MB (idle ${(idle / MB).toFixed(0)} MB, ${seconds.toFixed(1)} s)`);
        } finally {
          await worker.close();
        }
      };
      await run('batches bounded by bytes (default)', {});
      if (process.env.BENCH_BIG_UNBOUNDED !== '0') await run('count only (BATCH_MAX_BYTES=1 GiB)', { BATCH_MAX_BYTES: String(1 << 30) });
    } finally {
      await bench.close();
    }
  },
};
