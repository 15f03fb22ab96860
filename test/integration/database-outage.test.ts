import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import pg from 'pg';
import { composeServices } from '../../server/compose.js';
import { loadConfig } from '../../server/config.js';
import { createKnex } from '../../server/infra/db/knex.js';
import { DatabaseOutage, isConnectionError } from '../../server/infra/db/outage.js';
import { createLogger } from '../../server/infra/logger.js';
import { createTestDatabase, getCluster } from '../helpers/cluster.js';

interface Line {
  level: number;
  msg: string;
  err?: { stack?: string };
  step?: number;
  retry_in_ms?: number;
}

function capture() {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  return { lines, log: createLogger('info', stream) };
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: (await getCluster()).adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describe('a lost database connection is logged once per back-off step', function () {
  this.timeout(60_000);

  it('DatabaseOutage doubles its delay per step, logs each step once, and reports the recovery', async () => {
    let now = 0;
    const { lines, log } = capture();
    const outage = new DatabaseOutage(log, { firstDelayMs: 1000, maxDelayMs: 4000, now: () => now });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(refused);
    };
    for (now = 0; now < 12_000; now += 100) {
      // Three loops sharing one tracker, each ticking every 100 ms.
      for (const what of ['claims', 'tick', 'sweep']) expect(await outage.run(what, failing)).to.equal(undefined);
    }
    const steps = lines.filter((l) => l.msg.startsWith('database unreachable'));
    // Tries at 0, 1 s, 3 s, 7 s, 11 s (the delay stops growing at 4 s).
    expect(steps.map((l) => l.retry_in_ms)).to.deep.equal([1000, 2000, 4000, 4000, 4000]);
    expect(calls).to.equal(5);
    expect(await outage.run('claims', async () => 42)).to.equal(undefined);
    now += 4000;
    expect(await outage.run('claims', async () => 42)).to.equal(42);
    expect(lines.at(-1)?.msg).to.equal('database reachable again');
    // Errors on a working connection are not an outage: they reach the caller.
    const bad = Object.assign(new Error('syntax error'), { code: '42601' });
    expect(isConnectionError(bad)).to.equal(false);
    const thrown = await outage.run('claims', () => Promise.reject(bad)).catch((e) => e);
    expect(thrown).to.equal(bad);
  });

  it('worker, scheduler and pool of a running service log a few lines, not a stack trace per tick, and recover', async () => {
    const database = await createTestDatabase();
    const name = new URL(database.url).pathname.slice(1);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'em-outage-'));
    const { lines, log } = capture();
    const db = createKnex(database.url, 10, { log });
    const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: database.url, WORKER_CONCURRENCY: '2' });
    const services = composeServices(config, db, log);
    // Ticks faster than the defaults (claims every 100 ms, schedules every 200 ms): more chances to flood the log.
    const worker = services.createWorker({ pollMs: 100, sweepMs: 300 });
    const warned = console.warn;
    const consoleLines: unknown[] = [];
    console.warn = (...args: unknown[]) => consoleLines.push(args);
    try {
      worker.start();
      services.scheduler.start();
      await new Promise((r) => setTimeout(r, 500));
      expect(lines.filter((l) => l.level >= 40)).to.deep.equal([]);
      const from = lines.length;
      // Every connection is terminated and no new one can be made (the database is gone).
      await admin(`drop database "${name}" with (force)`);
      await new Promise((r) => setTimeout(r, 4500));
      const during = lines.slice(from).filter((l) => l.level >= 40);
      // Steps at about 0, 1 s and 3 s: three lines (a fourth allowed for timer jitter), none with a stack.
      expect(during.length, JSON.stringify(during.map((l) => l.msg))).to.be.within(2, 4);
      expect(during.every((l) => l.msg === 'database unreachable; background work paused until the next try')).to.equal(
        true,
      );
      expect(during.map((l) => l.step)).to.deep.equal(during.map((_, i) => i + 1));
      expect(during.some((l) => l.err?.stack)).to.equal(false);
      expect(consoleLines, 'knex printed connection errors').to.deep.equal([]);
      await admin(`create database "${name}" template "${(await getCluster()).template}"`);
      const deadline = Date.now() + 15_000;
      while (!lines.some((l) => l.msg === 'database reachable again') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(lines.some((l) => l.msg === 'database reachable again')).to.equal(true);
    } finally {
      console.warn = warned;
      await services.scheduler.stop();
      await worker.stop();
      await db.destroy();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
