import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import Koa from 'koa';
import { createKnex } from '../../server/infra/db/knex.js';
import { createUser } from '../../server/domain/users/users-repo.js';
import { type ChildServer, startChildServer } from '../child-server.js';
import { startBenchServer } from '../env.js';
import { report, type BenchSection } from './section.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const run = promisify(execFile);
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

/** autocannon in its own process, so the load generator does not share the server's event loop. */
async function load(url: string, headers: Record<string, string> = {}) {
  const args = [AUTOCANNON, '-c', '50', '-d', String(DURATION), '-j'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const { stdout } = await run(process.execPath, [...args, url], { maxBuffer: 64 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p99: number }; errors: number; non2xx: number };
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

/**
 * R-PERF-4: the export API at 50 connections beside a bare Koa + knex endpoint that reads one export row by id and
 * owner from the same database, both measured in this run.
 */
export const apiSection: BenchSection = {
  name: 'api',
  title: 'GET /api/v1/export/<id> and the list at 50 connections vs bare Koa + knex (R-PERF-4)',
  async run() {
    const bench = await startBenchServer();
    const { services } = bench;
    const bare = createKnex(bench.dbUrl, 10);
    const bareApp = new Koa();
    bareApp.use(async (ctx) => {
      const owner = Number(ctx.query.owner);
      ctx.body = ctx.query.list
        ? await bare('exports').where({ owner_id: owner }).orderBy('id', 'desc').limit(50)
        : await bare('exports').where({ id: Number(ctx.query.id), owner_id: owner }).first();
    });
    const bareServer = bareApp.listen(0, '127.0.0.1');
    const children: ChildServer[] = [];
    try {
      const user = await createUser(services.db, { login: 'bench', password: 'bench-password' });
      const session = await services.sessions.create();
      await services.sessions.authenticate(session.token, 'bench', 'bench-password', '127.0.0.1');
      let id = 0;
      for (let i = 0; i < 50; i++) {
        const row = await services.exports.create(user.id, {
          export: { name: `bench ${i}`, csv: true },
          _schedules: [{ hours: [3] }],
        });
        id = row.id;
      }
      const headers = { 'X-Export-Token': session.token };
      // The API under test runs as `npm start` serves it: compiled, in its own process.
      const app = await startChildServer('app', { DATABASE_URL: bench.dbUrl, DATA_DIR: services.config.DATA_DIR });
      children.push(app);
      const barePort = (bareServer.address() as { port: number }).port;
      const base = await load(`http://127.0.0.1:${barePort}/?id=${id}&owner=${user.id}`);
      report('bare Koa + knex, one row by id and owner', base.rps, 'req/s', undefined, `p99 ${base.p99} ms`);
      const one = await load(`${app.url}/api/v1/export/${id}`, headers);
      report('GET /api/v1/export/<id>', one.rps, 'req/s', { label: 'bare', value: base.rps }, '≥ 0.7×');
      report('  p99 latency', one.p99, 'ms', undefined, '< 50 ms');
      const bareList = await load(`http://127.0.0.1:${barePort}/?list=1&owner=${user.id}`);
      report('bare Koa + knex, 50-row list', bareList.rps, 'req/s', undefined, `p99 ${bareList.p99} ms`);
      const list = await load(`${app.url}/api/v1/export?limit=50`, headers);
      report('GET /api/v1/export?limit=50 (50 exports)', list.rps, 'req/s', { label: 'bare one-row', value: base.rps }, '≥ 0.7×');
      report('  same, vs the bare 50-row list', list.rps, 'req/s', { label: 'bare list', value: bareList.rps });
      report('  p99 latency', list.p99, 'ms', undefined, '< 50 ms');
      if (one.errors + list.errors + base.errors > 0) console.log(`   errors/non-2xx: ${one.errors + list.errors + base.errors}`);
    } finally {
      for (const c of children) await c.close();
      bareServer.close();
      await bare.destroy();
      await bench.close();
    }
  },
};
