import type { RunContext } from './run-context.js';

export const MANIFEST = 'manifest.json';

/**
 * R-OUT-5: the last file of every run. It lists every other file with size and SHA-256, so a delivery
 * whose manifest is present is complete, and a receiver can verify what it got.
 */
export async function writeManifest(ctx: RunContext, finishedAt: Date): Promise<void> {
  const manifest = {
    export: { _id: ctx.export.id, name: ctx.export.name, type: ctx.export.type },
    run: {
      _id: ctx.run.id,
      trigger: ctx.run.trigger,
      attempt: ctx.run.attempts,
      started_at: (ctx.run.started_at ?? new Date()).toISOString(),
      finished_at: finishedAt.toISOString(),
      fire_time: ctx.run.fire_time?.toISOString() ?? null,
    },
    object_count: ctx.counts.objects,
    deleted_count: ctx.counts.deleted,
    custom_data: ctx.export.definition.custom_data ?? [],
    files: ctx.staging.files.map((f) => ({
      path: f.path,
      size: f.size,
      sha256: f.sha256,
      mime_type: f.mime_type,
      ...(f.eas_id ? { eas_id: f.eas_id, eas_fileclass: f.eas_fileclass } : {}),
    })),
  };
  await ctx.staging.writeFile(`${MANIFEST}`, `${JSON.stringify(manifest, null, 2)}\n`, { mime_type: 'application/json' });
}
