import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ExportRow } from '../../server/domain/rows.js';
import { DataProducer } from '../../server/domain/produce/data-producer.js';
import { startChildServer } from '../child-server.js';
import type { Progress, RunContext } from '../../server/domain/runs/run-context.js';
import type { RunRow } from '../../server/domain/runs/queue.js';
import { Staging } from '../../server/domain/runs/staging.js';
import { parseSearchDefinition, searchPage } from '../../server/domain/search/index.js';
import { createUser } from '../../server/domain/users/users-repo.js';
import { LocalStorage } from '../../server/infra/storage/local-storage.js';
import { startBenchServer } from '../env.js';
import { type BenchSection, report, runAllFormats } from './section.js';

const ROWS = Number(process.env.BENCH_PRODUCE_ROWS ?? 1_000_000);
const MB = 1024 * 1024;

/** Tracks the process's peak RSS while `fn` runs (sampled every 20 ms). */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const result = await fn();
    return { result, peak: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

/** `psql \copy (select …) to stdout csv` into a file; resolves with the elapsed seconds. */
function psqlCopy(dbUrl: string, select: string, outFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fd = openSync(outFile, 'w');
    const started = performance.now();
    const child = spawn('psql', [dbUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (${select}) to stdout csv`], {
      stdio: ['ignore', fd, 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      closeSync(fd);
      if (code === 0) resolve((performance.now() - started) / 1000);
      else reject(new Error(`psql exited with ${code}`));
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * R-PERF-3: 1,000,000 objects produced as CSV, JSON and XML through the real DataProducer into a local staging
 * folder, beside `psql \copy (select …) to stdout csv` of the same rows from the same database in the same run;
 * plus the peak RSS of this process while producing, and search timings over the million objects (R-DATA-3).
 */
export const produceSection: BenchSection = {
  name: 'produce',
  title: `producing ${ROWS.toLocaleString('en-US')} objects as CSV / JSON / XML vs psql \\copy (R-PERF-3)`,
  async run() {
    const bench = await startBenchServer();
    const { db } = bench.services;
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'em-bench-produce-'));
    try {
      const user = await createUser(db, { login: 'producer', password: 'producer-password' });
      let started = performance.now();
      // GIN indexes are built faster after a bulk load than maintained row by row: drop, load, recreate as defined.
      const { rows: gin } = (await db.raw(
        `select indexname, indexdef from pg_indexes where tablename = 'objects' and indexdef ilike '%using gin%'`,
      )) as { rows: { indexname: string; indexdef: string }[] };
      for (const index of gin) await db.raw(`drop index ${index.indexname}`);
      await db.raw(
        `insert into objects (owner_id, objecttype, data, created_at, changed_at)
         select ?, 'photo', jsonb_build_object(
             'title', 'Photo ' || g || case when g % 10 = 0 then ', "quoted"' else '' end,
             'n', g, 'rating', g % 5 + 1,
             'tags', jsonb_build_array('tag' || (g % 50), 'tag' || (g % 7)),
             'meta', jsonb_build_object('width', 640 + g % 1000, 'height', 480, 'camera', 'Cam ' || (g % 20)),
             'taken', to_char(date '2020-01-01' + (g % 2000), 'YYYY-MM-DD')),
           now(), now()
         from generate_series(1, ?) g`,
        [user.id, ROWS],
      );
      await db.raw(`set maintenance_work_mem = '256MB'`);
      for (const index of gin) await db.raw(index.indexdef);
      await db.raw('analyze objects');
      console.log(`   loaded ${ROWS.toLocaleString('en-US')} objects with indexes in ${((performance.now() - started) / 1000).toFixed(1)} s`);

      const select = `select id, objecttype, version, created_at, changed_at, data from objects where owner_id = ${user.id} order by id`;
      const copies: number[] = [];
      for (let i = 0; i < 2; i++) copies.push(await psqlCopy(bench.dbUrl, select, path.join(outDir, `copy-${i}.csv`)));
      const copyRate = ROWS / median(copies);
      const copyMiB = Math.round(statSync(path.join(outDir, 'copy-0.csv')).size / MB);
      report(`psql \\copy … to stdout csv (${copyMiB} MiB, median of 2)`, copyRate, 'rows/s');

      const storage = new LocalStorage(outDir);
      const produce = async (format: 'csv' | 'json' | 'xml') => {
        const controller = new AbortController();
        const progress: Progress = { objects_done: 0, objects_total: 0, files_done: 0, bytes_written: 0, percent: 0 };
        const staging = new Staging(storage, `${format}/`, controller.signal);
        const ctx = {
          db,
          storage,
          config: bench.services.config,
          log: bench.services.log,
          run: { id: 1, export_id: 1, attempts: 1, trigger: 'start', started_at: new Date() } as RunRow,
          export: {
            id: 1,
            owner_id: user.id,
            name: 'bench',
            type: 'export',
            definition: { csv: format === 'csv', json: format === 'json', xml: format === 'xml', timezone: 'UTC' },
          } as unknown as ExportRow,
          signal: controller.signal,
          staging,
          progress,
          counts: { objects: 0, deleted: 0 },
        } satisfies RunContext;
        const t0 = performance.now();
        const { peak } = await withPeakRss(() => new DataProducer().produce(ctx));
        const seconds = (performance.now() - t0) / 1000;
        if (ctx.counts.objects !== ROWS) throw new Error(`${format}: produced ${ctx.counts.objects} objects, expected ${ROWS}`);
        return { rate: ROWS / seconds, peak, size: staging.files[0].size };
      };
      const baseline = process.memoryUsage().rss;
      const results = { csv: await produce('csv'), json: await produce('json'), xml: await produce('xml') };
      const ref = { label: '\\copy', value: copyRate };
      report('objects.csv through the DataProducer', results.csv.rate, 'rows/s', ref, '≥ 0.4×');
      report('objects.json through the DataProducer', results.json.rate, 'rows/s', ref, '≥ 0.5×');
      report('objects.xml through the DataProducer', results.xml.rate, 'rows/s', ref);
      const peak = Math.max(results.csv.peak, results.json.peak, results.xml.peak) / MB;
      report('peak RSS of the bench process while producing', peak, 'MB', undefined, `(bench process, before: ${(baseline / MB).toFixed(0)} MB)`);
      // The figure R-PERF-3 is about: a worker as `npm start` runs it (compiled, own process) producing all three
      // formats of the million objects in one run, from queue to published.
      const worker = await startChildServer('app', {
        DATABASE_URL: bench.dbUrl,
        DATA_DIR: bench.services.config.DATA_DIR,
        WORKER_CONCURRENCY: '1',
      });
      try {
        const idle = await worker.rss();
        const t0 = performance.now();
        const { peak: workerPeak } = await worker.peakRss(async () => {
          await runAllFormats(db, () =>
            bench.services.exports.create(user.id, { export: { name: 'all formats', csv: true, json: true, xml: true } }),
          );
        });
        const seconds = (performance.now() - t0) / 1000;
        report('worker run: CSV + JSON + XML in one run', ROWS / seconds, 'rows/s', undefined, `${seconds.toFixed(1)} s`);
        report('  peak RSS of the worker process', workerPeak / MB, 'MB', undefined, `< 250 MB (idle ${(idle / MB).toFixed(0)} MB)`);
      } finally {
        await worker.close();
      }

      // Search over the million objects (R-DATA-3): the preview call's count + first page.
      const searches: [string, unknown][] = [
        ['in (jsonpath containment)', { objecttypes: ['photo'], search: [{ type: 'in', fields: ['photo.n'], in: [17, 4242, 999_999] }] }],
        ['match fulltext', { objecttypes: ['photo'], search: [{ type: 'match', fields: ['photo.title'], string: 'Photo 123457', mode: 'fulltext' }] }],
        ['range + sort, first 50', { objecttypes: ['photo'], search: [{ type: 'range', field: 'photo.meta.width', from: 700, to: 710 }], sort: [{ field: 'photo.n', order: 'DESC' }] }],
      ];
      for (const [label, raw] of searches) {
        const def = parseSearchDefinition(raw);
        const times: number[] = [];
        let count = 0;
        for (let i = 0; i < 5; i++) {
          started = performance.now();
          count = (await searchPage(db, user.id, def, { limit: 50 })).count;
          times.push(performance.now() - started);
        }
        report(`search ${label} (${count.toLocaleString('en-US')} hits)`, median(times), 'ms', undefined, 'median of 5, count + page');
      }
    } finally {
      await rm(outDir, { recursive: true, force: true });
      await bench.close();
    }
  },
};
