import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import { pino } from 'pino';
import { claimRuns, publishRun } from '../../server/domain/runs/lifecycle.js';
import { type DeliveryJob, deliveryJobs, stopDeliveries } from '../../server/domain/transports/deliveries.js';
import { createTransportRegistry } from '../../server/domain/transports/registry.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * The delivery queue's statements on a real PostgreSQL (issue 10), driven by hand: the claim, the back-off computed in
 * SQL, the heartbeat as stop check, the hand-back and the lease sweeper. A real webhook receiver answers 500 or 204.
 */
describe('delivery jobs: claim, back-off, heartbeat, hand-back and takeover in SQL (issue 10)', () => {
  let app: TestApp;
  let hook: Server;
  let status = 500;
  let url: string;
  let kind: ReturnType<typeof deliveryJobs>;
  const never = new AbortController().signal;

  /** An export of `ownerId` with `n` webhook transports whose run was published by worker `w0`: its jobs are queued. */
  const published = async (ownerId: number, n = 1) => {
    const exp = await app.exports.create(ownerId, {
      export: { name: 'queued' },
      _transports: Array.from({ length: n }, () => ({ type: 'webhook', options: { url } })),
    } as never);
    const [run] = await claimRuns(app.db, 'w0', 1, 30_000);
    expect(run?.export_id).to.equal(exp.id);
    const ok = await publishRun(app.db, run!, 'w0', {
      prefix: `p/${run!.id}/`,
      files: [],
      objects: 0,
      progress: {},
      exportTtlDays: 3,
    });
    expect(ok).to.equal(true);
    return exp.id;
  };
  const row = async (id: number) => app.db('transport_deliveries').where({ id }).first();
  const claim = async (worker: string, busy: number[] = []) => (await kind.claim(worker, 30_000, busy)) as DeliveryJob;

  before(async () => {
    hook = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(status).end());
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    app = await startTestApp({ env: { TRANSPORT_ALLOW_HOSTS: '127.0.0.1' } });
    const registry = createTransportRegistry({
      allowHosts: ['127.0.0.1'],
      directoryRoots: [],
      smtpUrl: null,
      timeoutMs: 3000,
    });
    kind = deliveryJobs({
      db: app.db,
      storage: app.storage,
      log: pino({ level: 'silent' }),
      registry,
      secretKey: Buffer.alloc(32, 7),
      publicUrl: 'https://exports.example',
      concurrencyPerOwner: 1,
    });
  });
  afterEach(async () => {
    // Every test starts from an empty queue.
    await app.db('transport_deliveries').delete();
  });
  after(async () => {
    hook.closeAllConnections();
    await new Promise<void>((r) => hook.close(() => r()));
    await app.close();
  });

  it('publishRun queues one job per transport in its transaction; a failed attempt is due again after 5 s, then 30 s, then fails', async () => {
    const { userId } = await app.login('backoff');
    const exportId = await published(userId);
    const queued = await app.db('transport_deliveries').where({ export_id: exportId });
    expect(queued.map((r) => [r.state, r.attempts, r.owner_id])).to.deep.equal([['pending', 0, userId]]);
    status = 500;
    for (const [attempt, delay] of [
      [1, 5],
      [2, 30],
    ] as const) {
      const job = await claim('w1');
      expect(job).to.include({ attempts: attempt, export_id: exportId });
      await kind.execute(job, 'w1', never);
      const r = await row(job.id);
      expect(r).to.include({ state: 'pending', attempts: attempt, locked_by: null, failure_reason: null });
      // run_at and updated_at come from the same statement's now(): the difference is the back-off, exactly.
      const [{ secs }] = (
        await app.db.raw(
          'select extract(epoch from run_at - updated_at)::float8 as secs from transport_deliveries where id = ?',
          [job.id],
        )
      ).rows;
      expect(secs).to.equal(delay);
      // Not due yet: nobody claims it.
      expect(await kind.claim('w1', 30_000, [])).to.equal(undefined);
      await app
        .db('transport_deliveries')
        .where({ id: job.id })
        .update({ run_at: app.db.raw("now() - interval '1 second'") });
    }
    const last = await claim('w1');
    await kind.execute(last, 'w1', never);
    const failed = await row(last.id);
    expect(failed).to.include({ state: 'failed', attempts: 3 });
    expect(failed.failure_reason).to.match(/500/);
    const events = await app.db('export_events').where({ export_id: exportId, type: 'TRANSPORT_FAILED' });
    expect(events).to.have.length(1);
    expect(events[0].info).to.include({ attempts: 3 });
  });

  it('the claim skips owners at their cap and serves owners with fewer deliveries in progress first', async () => {
    const greedy = (await app.login('greedy')).userId;
    const modest = (await app.login('modest')).userId;
    await published(greedy, 3);
    await published(modest, 1);
    const first = await claim('w1');
    expect(first.owner_id).to.equal(greedy);
    // The worker's cap per owner is 1: greedy is busy; the next claim is modest's although greedy's jobs are older.
    const second = await claim('w1', [greedy]);
    expect(second.owner_id).to.equal(modest);
    // Another worker (no owner at its cap) still takes the owner with fewer deliveries in progress first: both have
    // one now, so the oldest due job wins, which is greedy's.
    const third = await claim('w2');
    expect(third.owner_id).to.equal(greedy);
    expect(await claim('w2', [greedy])).to.equal(undefined);
  });

  it('the heartbeat renews only jobs still ours; stop fails them everywhere; SIGTERM hands back without counting the attempt', async () => {
    const { userId } = await app.login('beats');
    const exportId = await published(userId, 2);
    const a = await claim('w1');
    const b = await claim('w1', []);
    expect([...(await kind.heartbeat([a, b], 'w1', 30_000))].sort()).to.deep.equal([Number(a.id), Number(b.id)].sort());
    expect([...(await kind.heartbeat([a, b], 'w2', 30_000))]).to.deep.equal([]);
    await kind.handBack([b], 'w1');
    expect(await row(b.id)).to.include({ state: 'pending', attempts: 0, locked_by: null });
    expect((await row(b.id)).log.map((l: { message: string }) => l.message)).to.include(
      'handed back: the worker running it shut down',
    );
    expect(await stopDeliveries(app.db, exportId, 'The delivery was stopped by the user.')).to.equal(2);
    expect([...(await kind.heartbeat([a], 'w1', 30_000))]).to.deep.equal([]);
    expect(await row(a.id)).to.include({ state: 'failed', failure_reason: 'The delivery was stopped by the user.' });
    // The holder's late success changes nothing: its write requires the row to be its own.
    status = 204;
    await kind.execute(a, 'w1', never);
    expect((await row(a.id)).state).to.equal('failed');
  });

  it('the lease sweeper retries a job whose worker died, and fails it after max_attempts with a reason', async () => {
    const { userId } = await app.login('orphans');
    const exportId = await published(userId, 1);
    const job = await claim('dead');
    await app
      .db('transport_deliveries')
      .where({ id: job.id })
      .update({ lease_expires_at: app.db.raw("now() - interval '1 second'") });
    await kind.sweepExpired();
    expect(await row(job.id)).to.include({ state: 'pending', attempts: 1, locked_by: null, lease_expires_at: null });
    const again = await claim('dead');
    await app
      .db('transport_deliveries')
      .where({ id: again.id })
      .update({ attempts: 3, lease_expires_at: app.db.raw("now() - interval '1 second'") });
    await kind.sweepExpired();
    const failed = await row(job.id);
    expect(failed.state).to.equal('failed');
    expect(failed.failure_reason).to.equal(
      'The delivery was interrupted 3 times because the worker running it stopped responding.',
    );
    expect(await app.db('export_events').where({ export_id: exportId, type: 'TRANSPORT_FAILED' })).to.have.length(1);
    // A job whose holder is alive (lease in the future) is left alone.
    const live = await published(userId, 1);
    const held = await claim('alive');
    await kind.sweepExpired();
    expect((await row(held.id)).state).to.equal('processing');
    expect(held.export_id).to.equal(live);
  });
});
