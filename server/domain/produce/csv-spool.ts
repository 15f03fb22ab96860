import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvWriter, resolveCsvOptions } from './csv-writer.js';
import type { ObjectShaper } from './field-select.js';
import { ColumnCollector } from './flatten.js';
import type { CsvOptions, ObjectWriter, ShapedObject } from './types.js';

/**
 * `objects.csv` in one pass over the objects instead of two (R-PERF-3). The header must precede the rows, and the
 * column pass that finds it costs as much as writing the rows (a second fetch of every object). Most exports hold
 * objects of one or a few shapes, all present in the first batch, so the header is guessed from the first batch and
 * the rows are written with it into a temporary file; the CsvWriter notices any cell of a column the guess lacks
 * (`strayed`). When nothing strayed, the guess is exactly the header the column pass would have found, and the
 * spooled file is byte for byte what the two-pass path writes; otherwise the caller discards it and runs the two
 * passes. Why the guess is exact when nothing strayed:
 * - every column the column pass finds comes from a cell some row emits while being written: the shaping is the
 *   same in both passes as long as no asset `_path` is attached (the column pass assumes every asset copied), so
 *   exports with `eas_fields` files are refused here;
 * - a column's group (its sort position) is fixed by its first occurrence, which for guessed columns lies in the
 *   first batch in both paths, and every other column strays;
 * - with `empty_columns: false` a guessed column is kept only when filled in the first batch (so filled overall),
 *   and a non-empty cell of any column outside the guess strays.
 * Cost: a temporary file as large as objects.csv, written and read back once, in `os.tmpdir()`.
 */
export class SpeculativeCsv implements ObjectWriter {
  private writer: CsvWriter | null = null;
  private dir: string | null = null;
  private file: WriteStream | null = null;
  private done = false;

  constructor(
    private readonly shaper: ObjectShaper,
    private readonly csv: CsvOptions | boolean,
    private readonly tmpRoot = os.tmpdir(),
  ) {
    if (shaper.attachesAssetPaths) throw new Error('SpeculativeCsv cannot be used when asset paths are attached');
    resolveCsvOptions(csv); // the export's csv options are refused before any row is read, as on the two-pass path
  }

  /** True once a row had a cell for a column outside the guessed header: the spool is unusable. */
  get strayed(): boolean {
    return this.writer?.strayed ?? false;
  }

  async write(batch: readonly ShapedObject[]): Promise<void> {
    if (this.writer === null) await this.start(batch);
    // After a stray every further row is wasted work: the file will be discarded.
    if (!this.strayed) await this.writer?.write(batch);
  }

  async end(): Promise<void> {
    if (this.writer === null) await this.start([]);
    if (!this.strayed) await this.writer?.end();
    this.done = true;
  }

  /** Copies the finished spool into the real output (ended with it) and removes it. Only when `!strayed`. */
  async publish(out: Writable): Promise<void> {
    if (!this.done || this.strayed || this.file === null) throw new Error('the spooled CSV is not complete');
    await pipeline(createReadStream(this.file.path), out);
    await this.discard();
  }

  /** Removes the temporary file; safe to call at any time and more than once. */
  async discard(): Promise<void> {
    if (this.file && !this.file.closed) {
      this.file.destroy();
      await new Promise<void>((resolve) => {
        if (this.file?.closed) resolve();
        else this.file?.once('close', () => resolve());
      });
    }
    if (this.dir !== null) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private async start(first: readonly ShapedObject[]): Promise<void> {
    const collector = new ColumnCollector(this.shaper);
    for (const object of first) collector.addShaped(object);
    this.dir = await mkdtemp(path.join(this.tmpRoot, 'em-csv-'));
    this.file = createWriteStream(path.join(this.dir, 'objects.csv'));
    this.writer = new CsvWriter(this.file, { columns: collector.columns(), csv: this.csv, detectStrays: true });
  }
}
