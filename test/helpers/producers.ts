import type { Producer, RunContext } from '../../server/domain/runs/run-context.js';

/**
 * A producer a test controls: each run writes `data.txt`, reports progress, then waits until the test releases it
 * (or its signal aborts). Records every execution so tests can count how often a run was done.
 */
export class GateProducer implements Producer {
  readonly name = 'gate';
  readonly executions: { runId: number; attempt: number }[] = [];
  readonly waiting = new Map<number, () => void>();
  private autoRelease = false;
  failWith: Error | null = null;

  releaseAll() {
    this.autoRelease = true;
    for (const release of this.waiting.values()) release();
  }

  hold() {
    this.autoRelease = false;
  }

  async produce(ctx: RunContext): Promise<void> {
    this.executions.push({ runId: ctx.run.id, attempt: ctx.run.attempts });
    await ctx.staging.writeFile('data.txt', `run ${ctx.run.id} of export ${ctx.export.id}\n`);
    ctx.progress.objects_total = 10;
    ctx.progress.objects_done = 3;
    ctx.counts.objects = 3;
    if (this.failWith) throw this.failWith;
    if (this.autoRelease) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.waiting.delete(ctx.run.id);
        resolve();
      };
      this.waiting.set(ctx.run.id, done);
      ctx.signal.addEventListener('abort', () => {
        this.waiting.delete(ctx.run.id);
        reject(ctx.signal.reason);
      });
    });
  }
}
