import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import type { Services } from '../../server/compose.js';
import { encodeArchiveIndex } from '../../server/domain/archive/archive-index.js';
import type { ArchiveFile } from '../../server/domain/archive/archive-index.js';
import { createUser } from '../../server/domain/users/users-repo.js';
import { type ChildServer, startChildServer } from '../child-server.js';
import { startBenchServer } from '../env.js';
import { type BenchSection, report } from './section.js';

const run = promisify(execFile);
const MB = 1e6;

/**
 * HTTP client in its own process (plain node, no tsx): `n` concurrent GETs, bodies discarded (like writing to
 * /dev/null). Prints {bytes, ms, ttfb: [ms per request], statuses}.
 */
const CLIENT = `
const http = require('node:http');
const [url, n, headersJson, rangesJson] = process.argv.slice(1);
const headers = JSON.parse(headersJson); const ranges = JSON.parse(rangesJson);
const t0 = process.hrtime.bigint(); const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
let bytes = 0; const ttfb = []; const statuses = [];
const one = (i) => new Promise((resolve, reject) => {
  const h = { ...headers }; if (ranges[i]) h.Range = ranges[i];
  const start = ms();
  http.get(url, { headers: h, agent: false }, (res) => {
    statuses.push(res.statusCode); let first = true;
    res.on('data', (c) => { if (first) { ttfb.push(ms() - start); first = false; } bytes += c.length; });
    res.on('end', resolve); res.on('error', reject);
  }).on('error', reject);
});
Promise.all(Array.from({ length: Number(n) }, (_, i) => one(i))).then(() => {
  console.log(JSON.stringify({ bytes, ms: ms(), ttfb, statuses }));
});
`;

type ClientResult = { bytes: number; ms: number; ttfb: number[]; statuses: number[] };

async function fetchMany(url: string, n = 1, headers: Record<string, string> = {}, ranges: string[] = []): Promise<ClientResult> {
  const { stdout } = await run(process.execPath, ['-e', CLIENT, url, String(n), JSON.stringify(headers), JSON.stringify(ranges)], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const r = JSON.parse(stdout) as ClientResult;
  if (r.statuses.some((s) => s >= 300)) throw new Error(`${url}: statuses ${[...new Set(r.statuses)].join(',')}`);
  return r;
}

const fmtMb = (b: number) => (b / MB).toFixed(0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** `rounds` rounds of every measurement in turn (interleaved, so a noisy neighbour hits them alike); medians. */
const interleaved = async (rounds: number, fns: (() => Promise<number>)[]): Promise<number[]> => {
  const xs = fns.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) for (const [k, fn] of fns.entries()) xs[k].push(await fn());
  return xs.map(median);
};

interface BuiltExport {
  id: number;
  runId: number;
  /** The archive columns as publishRun would index them (runs.archive_index). */
  index: ArchiveFile[];
  dir: string;
  files: { path: string; size: number }[];
  bytes: number;
}

/**
 * An export with a published run whose files are written straight into storage and `run_files` (no producer):
 * `make(i)` gives the i-th file's path and bytes.
 */
export async function buildExport(s: Services, ownerId: number, name: string, count: number, make: (i: number) => { path: string; data: Buffer }): Promise<BuiltExport> {
  const [exp] = await s.db('exports')
    .insert({ owner_id: ownerId, type: 'export', name, definition: JSON.stringify({}), passkey: `bench-${name}`, state: 'done' })
    .returning('id');
  const id = Number(exp.id);
  const [runRow] = await s.db('runs')
    .insert({ export_id: id, owner_id: ownerId, trigger: 'create', state: 'done', started_at: s.db.fn.now(), finished_at: s.db.fn.now(), files_prefix: `exports/${id}/runs/1/1/` })
    .returning('id');
  const runId = Number(runRow.id);
  const prefix = `exports/${id}/runs/${runId}/1/`;
  await s.db('runs').where({ id: runId }).update({ files_prefix: prefix });
  // The bench writes the files straight into the local storage folder (and archiver reads them from there).
  const dir = path.join(s.config.DATA_DIR, 'storage', prefix.slice(0, -1));
  const rows: Record<string, unknown>[] = [];
  const files: BuiltExport['files'] = [];
  const index: ArchiveFile[] = [];
  let bytes = 0;
  const mtime = Math.floor(Date.now() / 1000);
  const made = new Set<string>();
  for (let start = 0; start < count; start += 256) {
    const batch = Array.from({ length: Math.min(256, count - start) }, (_, k) => ({ i: start + k, ...make(start + k) }));
    for (const f of batch) {
      const d = path.dirname(path.join(dir, f.path));
      if (!made.has(d)) {
        await mkdir(d, { recursive: true });
        made.add(d);
      }
    }
    await Promise.all(batch.map((f) => writeFile(path.join(dir, f.path), f.data)));
    for (const f of batch) {
      const crc = crc32(f.data);
      rows.push({
        run_id: runId,
        ord: f.i,
        path: f.path,
        size: f.data.length,
        sha256: createHash('sha256').update(f.data).digest('hex'),
        crc32: crc,
        mime_type: 'application/octet-stream',
        mtime,
      });
      files.push({ path: f.path, size: f.data.length });
      index.push({ path: f.path, size: f.data.length, crc32: crc, mtime });
      bytes += f.data.length;
    }
    if (rows.length >= 5000) await s.db('run_files').insert(rows.splice(0));
  }
  if (rows.length) await s.db('run_files').insert(rows.splice(0));
  // The index publishRun writes, so the bench measures the real publish path rather than the run_files fallback.
  await s.db('runs').where({ id: runId }).update({ archive_index: encodeArchiveIndex(index) });
  await s.db('exports').where({ id }).update({ published_run_id: runId, last_run_id: runId });
  return { id, runId, index, dir, files, bytes };
}

/** R-PERF-1/2: archive downloads over loopback vs `file/` of one equally large file and vs archiver, same run. */
export const filesSection: BenchSection = {
  name: 'files',
  title: 'ZIP downloads vs file/ and archiver; small files; RSS; TTFB (R-PERF-1, R-PERF-2)',
  async run() {
    const bench = await startBenchServer();
    const s = bench.services;
    const built = new Map<number, BuiltExport>();
    let app: Awaited<ReturnType<typeof startChildServer>> | undefined;
    let ref: Awaited<ReturnType<typeof startChildServer>> | undefined;
    try {
      const user = await createUser(s.db, { login: 'bench', password: 'bench-password' });
      const session = await s.sessions.create();
      await s.sessions.authenticate(session.token, 'bench', 'bench-password', '127.0.0.1');
      const auth = { 'X-Export-Token': session.token };
      const t0 = Date.now();
      const block = Buffer.alloc(4 << 20);
      for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
      const big = await buildExport(s, user.id, 'big', 256, (i) => {
        const data = Buffer.from(block);
        data.writeUInt32LE(i, 0);
        return { path: `photos/${String(i).padStart(3, '0')}.bin`, data };
      });
      built.set(big.id, big);
      // One 1 GiB file for the file/ reference, written in 4 MiB pieces.
      const single = await buildExport(s, user.id, 'single', 1, () => ({ path: 'one.bin', data: Buffer.alloc(0) }));
      {
        const fh = await open(path.join(single.dir, 'one.bin'), 'w');
        for (let i = 0; i < 256; i++) await fh.write(block);
        await fh.close();
        let c = 0;
        for (let i = 0; i < 256; i++) c = crc32(block, c);
        await s.db('run_files').where({ path: 'one.bin' }).whereIn('run_id', s.db('exports').where({ id: single.id }).select('published_run_id')).update({ size: 256 * block.length, crc32: c });
        const index = single.index.map((f) => ({ ...f, size: 256 * block.length, crc32: c }));
        await s.db('runs').where({ id: single.runId }).update({ archive_index: encodeArchiveIndex(index) });
      }
      const smallData = (i: number) => {
        const b = Buffer.alloc(1024 + ((i * 7919) % 7169));
        b.writeUInt32LE(i, 0);
        return b;
      };
      const small = await buildExport(s, user.id, 'small', 20_000, (i) => ({ path: `d${i % 100}/f${i}.txt`, data: smallData(i) }));
      built.set(small.id, small);
      const huge = await buildExport(s, user.id, 'huge', 100_000, (i) => ({ path: `d${i % 500}/f${i}.txt`, data: smallData(i).subarray(0, 64) }));
      console.log(`   (data built in ${((Date.now() - t0) / 1000).toFixed(1)} s: 1 GiB × 2, 20,000 and 100,000 files)`);
      // The servers under test run in child processes (their RSS is theirs alone); clients are children too.
      const childEnv = { DATABASE_URL: bench.dbUrl, DATA_DIR: s.config.DATA_DIR };
      app = await startChildServer('app', childEnv);
      ref = await startChildServer('archiver', childEnv, Object.fromEntries([...built].map(([id, e]) => [id, { dir: e.dir, files: e.files.map((f) => f.path) }])));
      const appUrl = app.url;
      const refUrl = ref.url;
      const appIdle = await app.rss();
      console.log(`   (server processes: app pid ${app.pid} ${fmtMb(appIdle)} MB idle, archiver pid ${ref.pid})`);
      const mbps = (r: ClientResult) => r.bytes / MB / (r.ms / 1000);

      // R-PERF-1: 1 GiB, file/ vs zip/ vs archiver interleaved; RSS of the app process during the zip downloads.
      let rss1 = 0;
      let archRss = 0;
      const [fileRate, zipRate, archRate] = await interleaved(3, [
        async () => mbps(await fetchMany(`${appUrl}/api/v1/export/${single.id}/file/one.bin`, 1, auth)),
        async () => {
          const { result, peak } = await (app as ChildServer).peakRss(() => fetchMany(`${appUrl}/api/v1/export/${big.id}/zip`, 1, auth));
          rss1 = Math.max(rss1, peak);
          return mbps(result);
        },
        async () => {
          const { result, peak } = await (ref as ChildServer).peakRss(() => fetchMany(`${refUrl}/${big.id}`));
          archRss = Math.max(archRss, peak);
          return mbps(result);
        },
      ]);
      report('file/ of one 1 GiB file', fileRate, 'MB/s');
      report('zip/ of 256 × 4 MiB (ZIP64, exact length)', zipRate, 'MB/s', { label: 'file/', value: fileRate }, '≥ 0.9×');
      report('  same', zipRate, 'MB/s', { label: 'archiver', value: archRate }, '≥ 2×');
      report('  peak RSS of the app process, one download', rss1 / MB, 'MB', undefined, '< 150 MB');
      report('  (archiver process, one download)', archRss / MB, 'MB');
      // 50 concurrent: 50 × 128 MiB slices of the same archive (Range), so the run stays short.
      const size = big.bytes + 1_000_000;
      const ranges = Array.from({ length: 50 }, (_, k) => {
        const start = Math.floor(((size - 140e6) * k) / 50);
        return `bytes=${start}-${start + (128 << 20) - 1}`;
      });
      const many = await app.peakRss(() => fetchMany(`${appUrl}/api/v1/export/${big.id}/zip`, 50, auth, ranges));
      report('50 concurrent zip/ downloads (128 MiB ranges each)', mbps(many.result), 'MB/s', { label: 'single', value: zipRate }, '≥ 0.8×');
      report('  peak RSS of the app process, 50 downloads', many.peak / MB, 'MB', undefined, '< 300 MB');
      report('  (app process RSS when idle, before)', appIdle / MB, 'MB');

      // R-PERF-2: 20,000 files of 1–8 KiB.
      const [smallRate, archSmall] = await interleaved(3, [
        async () => small.files.length / ((await fetchMany(`${appUrl}/api/v1/export/${small.id}/zip`, 1, auth)).ms / 1000),
        async () => small.files.length / ((await fetchMany(`${refUrl}/${small.id}`)).ms / 1000),
      ]);
      report('zip/ of 20,000 files of 1–8 KiB', smallRate, 'files/s', { label: 'archiver', value: archSmall }, '≥ 4×');
      // TTFB: the first (cold) request for the 100,000-file archive — nothing cached for it yet — then warm ones.
      const hugeUrl = `${appUrl}/api/v1/export/${huge.id}/zip`;
      const cold = (await fetchMany(hugeUrl, 1, auth)).ttfb[0];
      const warm: number[] = [];
      for (let i = 0; i < 5; i++) warm.push((await fetchMany(hugeUrl, 1, auth)).ttfb[0]);

      report('TTFB of zip/ with 100,000 files, cold (1st)', cold, 'ms', undefined, '< 200 ms');
      report('  warm (layout cached), median of 5', median(warm), 'ms', undefined, '< 200 ms');
    } finally {
      await app?.close();
      await ref?.close();
      await bench.close();
    }
  },
};
