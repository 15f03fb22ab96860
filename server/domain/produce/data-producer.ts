import { setMaxListeners } from 'node:events';
import type { Knex } from 'knex';
import { collectGarbage } from '../../infra/memory.js';
import { isAppError, RunFailure } from '../errors.js';
import type { Producer, RunContext } from '../runs/run-context.js';
import { parseSearchDefinition, type SearchDefinition } from '../search/index.js';
import { AssetCopier } from './asset-copier.js';
import { AssetNamer } from './asset-names.js';
import { SpeculativeCsv } from './csv-spool.js';
import { CsvWriter } from './csv-writer.js';
import { ObjectShaper } from './field-select.js';
import { FastColumnCollector } from './fast-columns.js';
import { JsonArrayWriter, JsonPerObjectWriter, objectJson } from './json-writer.js';
import { COLLECT_AFTER_BYTES, ObjectSource, type RawObjectRow, toExportedObject } from './object-source.js';
import { RunOutputs } from './run-outputs.js';
import { ChunkedSink } from './sink.js';
import type { CsvOptions, ExportedObject, ObjectWriter, ShapedObject } from './types.js';
import { XmlFileWriter, XmlPerObjectWriter } from './xml-writer.js';

const DEFAULT_BATCH_SIZE = 1000;

function batchChars(rows: readonly RawObjectRow[]): number {
  let chars = 0;
  for (const row of rows) chars += row.data.length;
  return chars;
}

/** `export.batch_size` may say up to 100,000; one batch is held in memory, so the cursor never fetches more than this. */
const MAX_BATCH_SIZE = 10_000;
/** An error whose message is fit for `_failure_reason` (see failureReason in runs/runner.ts). */
const userFailure = (message: string, cause?: unknown) => new RunFailure(message, { cause });

const EVERYTHING: SearchDefinition = { objecttypes: [], search: [], sort: [] };

/** A system attribute name as a key in the stored JSON text: such rows cannot take the splice fast path. */
const SYSTEM_KEY = /"_(?:id|objecttype|version|created_at|changed_at)": /;

/** `objects.json` line without parsing `data` (valid when no `fields`/`eas_fields` shape the object). */
function spliceJson(row: RawObjectRow): string | null {
  if (SYSTEM_KEY.test(row.data)) return null;
  const head = `{"_id":${Number(row.id)},"_objecttype":${JSON.stringify(row.objecttype)},"_version":${row.version},"_created_at":"${row.created_at}","_changed_at":"${row.changed_at}"`;
  return row.data === '{}' ? `${head}}` : `${head},${row.data.slice(1)}`;
}

/**
 * The export engine's producer (R-DATA, R-OUT): reads the export's objects (its search, or all of the owner's objects;
 * only the changed ones since the last successful run for `export_incremental`) and writes `objects.csv`,
 * `objects.json`, `objects.xml`, the per-object files, the referenced asset files and, for incremental exports,
 * `deleted.json`. See `produce/index.ts` for the output shapes.
 */
/** How a run writes its CSV, and how often the one-pass file was published or strayed (then written in two passes). */
interface CsvStrategy {
  onePass: boolean;
  published: number;
  strayed: number;
}

export class DataProducer implements Producer {
  readonly name = 'data';
  /** One pass (csv-spool.ts) unless `onePassCsv: false`: both paths give the same bytes, the one pass is cheaper. */
  readonly csv: CsvStrategy;

  constructor(opts: { onePassCsv?: boolean } = {}) {
    this.csv = { onePass: opts.onePassCsv ?? true, published: 0, strayed: 0 };
  }

  async produce(ctx: RunContext): Promise<void> {
    const exp = ctx.export;
    // Every storage write in flight (per-object files, asset copies) listens to the run's signal.
    setMaxListeners(64, ctx.signal);
    const search = exportSearch(exp.definition.search);
    const incremental = exp.type === 'export_incremental';
    const since = incremental ? await lastSuccessfulStart(ctx.db, exp.id, ctx.run.id) : null;
    await ctx.db.transaction(async (trx) => {
      await trx.raw(`set local timezone = 'UTC'`);
      // A run reads for as long as the export is big: STATEMENT_TIMEOUT guards API requests, not this cursor
      // (the first FETCH of a sorted search sorts everything). Stop requests still end it through the run's signal.
      await trx.raw('set local statement_timeout = 0');
      await new RunProduction(ctx, trx, search, since, incremental, this.csv).produce();
    }, {
      isolationLevel: 'repeatable read',
      readOnly: true,
    });
  }
}

function exportSearch(raw: unknown): SearchDefinition {
  if (raw === null || raw === undefined) return EVERYTHING;
  try {
    return parseSearchDefinition(raw, 'export.search');
  } catch (e) {
    throw userFailure(`The export's search is not valid: ${(e as Error).message}.`, e);
  }
}

/** R-OUT-4: the watermark is the start of the last run that finished successfully; failed runs never move it. */
async function lastSuccessfulStart(db: Knex, exportId: number, currentRunId: number): Promise<Date | null> {
  const row = (await db('runs')
    .where({ export_id: exportId, state: 'done' })
    .whereNot({ id: currentRunId })
    .orderBy([
      { column: 'finished_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .first('started_at')) as { started_at: Date | null } | undefined;
  return row?.started_at ?? null;
}

class RunProduction {
  private readonly def: RunContext['export']['definition'];
  private readonly source: ObjectSource;
  private readonly outputs: RunOutputs;
  private readonly batchSize: number;
  /** BATCH_MAX_BYTES: a batch's objects as text, at most (one bigger object comes alone). */
  private readonly batchBytes: number;
  private readonly shaper: ObjectShaper;
  private readonly copier: AssetCopier | null;
  private readonly fastJson: boolean;
  private total = 0;
  private work = 0;
  private passes = 1;

  constructor(
    private readonly ctx: RunContext,
    trx: Knex.Transaction,
    search: SearchDefinition,
    private readonly since: Date | null,
    private readonly incremental: boolean,
    private readonly csvStrategy: CsvStrategy,
  ) {
    this.def = ctx.export.definition;
    this.source = new ObjectSource(trx, { ownerId: ctx.export.owner_id, search, since });
    this.outputs = new RunOutputs(ctx.staging);
    this.batchSize = Math.min(Math.max(this.def.batch_size ?? DEFAULT_BATCH_SIZE, 1), MAX_BATCH_SIZE);
    this.batchBytes = ctx.config.BATCH_MAX_BYTES;
    try {
      this.shaper = new ObjectShaper({ fields: this.def.fields, eas_fields: this.def.eas_fields });
    } catch (e) {
      throw userFailure(`The export's field selection is not valid: ${(e as Error).message}.`, e);
    }
    const easFiles = Object.values(this.def.eas_fields ?? {}).some((f) => f?.files);
    this.copier = easFiles
      ? new AssetCopier(
          ctx,
          trx,
          this.shaper,
          new AssetNamer({
            flat: this.def.flat,
            filename_original: this.def.filename_original,
            filename_template: this.def.filename_template,
            exportName: ctx.export.name,
          }),
        )
      : null;
    this.fastJson = !this.shaper.selective && !easFiles;
  }

  async produce(): Promise<void> {
    try {
      this.total = await this.source.count();
      this.ctx.progress.objects_total = this.total;
      const csv = this.def.csv;
      if (csv && this.csvStrategy.onePass && !this.shaper.attachesAssetPaths) await this.onePassCsv(csv);
      else await this.objectsPass(csv ? await this.csvWriter(csv) : null);
      if (this.incremental) await this.writeDeleted();
      await this.outputs.settle();
      if (this.copier?.missing) {
        this.ctx.log.warn({ missing: this.copier.missing }, 'asset references without an asset of the owner were not copied');
      }
    } catch (e) {
      await this.outputs.abandon(e);
      if (isAppError(e) && e.status === 400) throw userFailure(`The export's definition is not valid: ${e.message}.`, e);
      throw e;
    }
  }

  private progress(n: number): void {
    this.work += n;
    const p = this.ctx.progress;
    p.percent = this.total === 0 ? 99 : Math.min(99, Math.floor((100 * this.work) / (this.total * this.passes)));
    p.files_done = this.ctx.staging.files.length;
  }

  /**
   * CSV with the header guessed from the first batch (see SpeculativeCsv), every format in one pass. When the guess
   * fails: with CSV the only output the pass stops at once and starts over the two-pass way; otherwise the other
   * formats are finished and CSV alone gets its two passes afterwards.
   */
  private async onePassCsv(options: boolean | CsvOptions): Promise<void> {
    const spec = new SpeculativeCsv(this.shaper, options);
    const csvOnly = !this.def.json && !this.def.xml && !this.def.json_one_file_per_object && !this.def.xml_one_file_per_object;
    const before = { objects: this.ctx.counts.objects, done: this.ctx.progress.objects_done, work: this.work };
    let complete: boolean;
    try {
      complete = await this.objectsPass(spec, { stop: csvOnly ? () => spec.strayed : undefined });
      if (!spec.strayed) {
        await spec.publish(this.outputs.single('objects.csv', { mime_type: 'text/csv' }).stream);
        this.csvStrategy.published++;
        return;
      }
    } finally {
      await spec.discard();
    }
    this.csvStrategy.strayed++;
    this.ctx.log.debug('objects.csv: the first batch did not show every column; writing it in two passes');
    if (!complete) {
      this.ctx.counts.objects = before.objects;
      this.ctx.progress.objects_done = before.done;
      this.work = before.work;
      await this.objectsPass(await this.csvWriter(options));
    } else {
      this.passes = 2;
      const csv = await this.csvWriter(options);
      await this.objectsPass(csv, { csvOnly: true });
    }
  }

  /** CSV needs its header first: one pass over the same snapshot collects the columns (see ColumnCollector). */
  private async csvWriter(options: boolean | CsvOptions): Promise<CsvWriter> {
    this.passes += 1;
    const collector = new FastColumnCollector(this.shaper);
    for await (const batch of this.source.batches(this.batchSize, this.ctx.signal, true, this.batchBytes)) {
      collector.addRows(batch);
      this.progress(batch.length);
    }
    const { stream } = this.outputs.single('objects.csv', { mime_type: 'text/csv' });
    return new CsvWriter(stream, { columns: collector.columns(), csv: options });
  }

  /**
   * The pass that writes the objects. `csvOnly`: a repeat pass for CSV alone (objects not counted again);
   * `stop`: checked after every batch, ends the pass early (returns false) when it says so.
   */
  private async objectsPass(
    csv: ObjectWriter | null,
    { csvOnly = false, stop }: { csvOnly?: boolean; stop?: () => boolean } = {},
  ): Promise<boolean> {
    const def: Partial<RunContext['export']['definition']> = csvOnly ? {} : this.def;
    const writers: ObjectWriter[] = [];
    if (csv) writers.push(csv);
    let json: JsonArrayWriter | null = null;
    let jsonSink: ChunkedSink | null = null;
    if (def.json && this.fastJson) jsonSink = new ChunkedSink(this.outputs.single('objects.json').stream);
    else if (def.json) json = new JsonArrayWriter(this.outputs.single('objects.json').stream);
    if (json) writers.push(json);
    if (def.xml) writers.push(new XmlFileWriter(this.outputs.single('objects.xml').stream));
    if (def.json_one_file_per_object) writers.push(new JsonPerObjectWriter(this.outputs.perObject));
    if (def.xml_one_file_per_object) writers.push(new XmlPerObjectWriter(this.outputs.perObject));
    const copier = csvOnly ? null : this.copier;
    const needsObjects = writers.length > 0 || copier !== null;
    let lines = 0;
    for await (const rows of this.source.batches(this.batchSize, this.ctx.signal, false, this.batchBytes)) {
      let objects: ExportedObject[] | null = null;
      let big = false;
      let shaped: ShapedObject[] | null = null;
      if (needsObjects) {
        big = batchChars(rows) > COLLECT_AFTER_BYTES;
        objects = rows.map(toExportedObject);
        const lookup = copier ? await copier.prepare(objects) : undefined;
        shaped = objects.map((o) => this.shaper.shape(o, lookup));
        for (const writer of writers) {
          await writer.write(shaped);
          // Each format makes its own copies of a huge value (escaped, encoded); collected after each, the peak is
          // the largest format's, not the sum of all three.
          if (big) collectGarbage();
        }
      }
      if (jsonSink) {
        for (let i = 0; i < rows.length; i++) {
          const line =
            spliceJson(rows[i]) ?? objectJson(shaped ? shaped[i] : this.shaper.shape(toExportedObject(rows[i])));
          if (jsonSink.add((lines++ === 0 ? '[\n' : ',\n') + line)) await jsonSink.flush();
        }
      }
      this.outputs.throwIfFailed();
      if (!csvOnly) {
        this.ctx.counts.objects += rows.length;
        this.ctx.progress.objects_done += rows.length;
      }
      this.progress(rows.length);
      if (stop?.()) return false;
    }
    if (jsonSink) {
      jsonSink.add(lines === 0 ? '[]\n' : '\n]\n');
      await jsonSink.end();
    }
    for (const writer of writers) await writer.end();
    return true;
  }

  /** `deleted.json`: `[{"_objecttype", "_id", "_deleted_at"}]` of deletions since the watermark; `[]` on a first run. */
  private async writeDeleted(): Promise<void> {
    const sink = new ChunkedSink(this.outputs.single('deleted.json').stream);
    let n = 0;
    if (this.since) {
      for await (const rows of this.source.deletions(this.since, this.batchSize)) {
        this.ctx.signal.throwIfAborted();
        for (const r of rows) {
          const entry = { _objecttype: r.objecttype, _id: Number(r.object_id), _deleted_at: r.deleted_at.toISOString() };
          if (sink.add((n++ === 0 ? '[\n' : ',\n') + JSON.stringify(entry))) await sink.flush();
        }
      }
    }
    sink.add(n === 0 ? '[]\n' : '\n]\n');
    await sink.end();
    this.ctx.counts.deleted = n;
  }
}
