import type { Producer, RunContext } from '../../server/domain/runs/run-context.js';

export interface PlannedFile {
  path: string;
  data: Buffer;
}

/**
 * Writes the files planned for an export (by export name) through the run's staging, like a real producer:
 * non-ASCII names, empty files, nested folders, many files. `plan` may change between runs of one export;
 * `hold(name)` keeps the next run of that export processing until `release(name)`.
 */
export class FileProducer implements Producer {
  readonly name = 'files';
  readonly plans = new Map<string, PlannedFile[] | ((run: number) => PlannedFile[])>();
  private readonly held = new Map<string, { waiting: Promise<void>; release: () => void }>();

  hold(exportName: string) {
    let release = () => {};
    const waiting = new Promise<void>((r) => {
      release = r;
    });
    this.held.set(exportName, { waiting, release });
  }

  release(exportName: string) {
    this.held.get(exportName)?.release();
    this.held.delete(exportName);
  }

  async produce(ctx: RunContext): Promise<void> {
    const plan = this.plans.get(ctx.export.name) ?? [];
    const files = typeof plan === 'function' ? plan(ctx.run.id) : plan;
    for (const f of files) await ctx.staging.writeFile(f.path, f.data);
    ctx.counts.objects = files.length;
    const gate = this.held.get(ctx.export.name);
    if (gate) {
      await Promise.race([
        gate.waiting,
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })),
      ]);
    }
  }
}
