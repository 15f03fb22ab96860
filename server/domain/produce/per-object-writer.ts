import { perObjectPath } from './asset-names.js';
import { BoundedTasks, writeWholeFile } from './sink.js';
import type { ObjectWriter, OpenFile, ShapedObject } from './types.js';

export interface PerObjectOptions {
  /** Files written at the same time (default 8). */
  readonly concurrency?: number;
}

/**
 * One file per object (`<format>/<objecttype>/<_id>.<format>`, R-OUT-1), `concurrency` files in flight at once so
 * thousands of small files don't serialise on one storage round trip each.
 */
export class PerObjectWriter implements ObjectWriter {
  private readonly tasks: BoundedTasks;

  constructor(
    private readonly open: OpenFile,
    private readonly format: 'json' | 'xml',
    private readonly render: (object: ShapedObject) => string,
    options: PerObjectOptions = {},
  ) {
    this.tasks = new BoundedTasks(options.concurrency ?? 8);
  }

  async write(batch: readonly ShapedObject[]): Promise<void> {
    for (const object of batch) {
      const content = this.render(object);
      const path = perObjectPath(this.format, object, this.format);
      await this.tasks.run(async () => writeWholeFile(await this.open(path), content));
    }
  }

  async end(): Promise<void> {
    await this.tasks.drain();
  }
}
