import type { Knex } from 'knex';
import { type AssetRow, findAssets } from '../assets/asset-repo.js';
import type { RunContext } from '../runs/run-context.js';
import type { AssetNamer } from './asset-names.js';
import type { ObjectShaper } from './field-select.js';
import { BoundedTasks } from './sink.js';
import type { AssetPathLookup, ExportedObject } from './types.js';
import { RunFailure } from '../errors.js';

/** Files copied at the same time: enough to hide storage latency (S3), few enough to keep memory flat. */
const COPY_CONCURRENCY = 4;

const refKey = (objectId: number, field: string, assetId: number) => `${objectId}\u0000${field}\u0000${assetId}`;

/**
 * Copies the asset files a batch of objects refers to (`eas_fields` with `files: true`) into the run's `files/…`
 * (R-DATA-4, R-OUT-1) and answers the writers' `_path` lookups (R-OUT-2). Only the export owner's assets are
 * looked up, so a reference to another user's asset id is never copied; such references (and ids that don't exist)
 * are left without `_path` and counted in `missing`.
 */
export class AssetCopier {
  private paths = new Map<string, string>();
  missing = 0;

  constructor(
    private readonly ctx: RunContext,
    private readonly trx: Knex.Transaction,
    private readonly shaper: ObjectShaper,
    private readonly namer: AssetNamer,
  ) {}

  /** Copies what the batch needs (each file once per run) and returns the lookup for shaping this batch. */
  async prepare(objects: readonly ExportedObject[]): Promise<AssetPathLookup> {
    this.paths = new Map();
    const refs = objects.map((o) => this.shaper.assetRefs(o));
    const ids = [...new Set(refs.flatMap((list) => list.map((r) => r.assetId)))];
    if (ids.length === 0) return () => undefined;
    const assets = await findAssets(this.trx, this.ctx.export.owner_id, ids);
    const tasks = new BoundedTasks(COPY_CONCURRENCY);
    for (let i = 0; i < objects.length; i++) {
      const object = objects[i];
      for (const ref of refs[i]) {
        const asset = assets.get(ref.assetId);
        if (!asset) {
          this.missing++;
          continue;
        }
        const name = this.namer.name({
          objecttype: object._objecttype,
          field: ref.field,
          objectId: object._id,
          assetId: asset.id,
          originalFilename: asset.original_filename,
          data: object.data,
        });
        this.paths.set(refKey(object._id, ref.field, asset.id), name.path);
        if (name.isNew) await tasks.run(() => this.copy(asset, name.path));
      }
    }
    await tasks.drain();
    const paths = this.paths;
    return (objectId, field, assetId) => paths.get(refKey(objectId, field, assetId));
  }

  private async copy(asset: AssetRow, path: string): Promise<void> {
    let source: Awaited<ReturnType<RunContext['storage']['read']>>;
    try {
      source = await this.ctx.storage.read(asset.storage_key, { signal: this.ctx.signal, expectedSize: Number(asset.size) });
    } catch (e) {
      throw new RunFailure(`The file of asset ${asset.id} (${asset.original_filename}) could not be read from storage.`, { cause: e });
    }
    try {
      await this.ctx.staging.writeFile(path, source, {
        mime_type: asset.mime_type,
        eas_id: asset.id,
        eas_fileclass: asset.class,
      });
    } finally {
      // A write that failed before consuming the source (a folder it could not create) must not leave it open.
      source.destroy();
    }
    this.ctx.progress.files_done++;
  }
}
