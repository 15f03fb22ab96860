/**
 * What a delivery sends (R-TR-3): the published files of a run, read from storage, or — with a `packer` — the
 * run packed into archives streamed by the archive module (nothing is built on disk). `manifest.json` is always
 * delivered as a plain file too, and last (the transports order it), so its presence means the delivery is complete.
 */
import type { Storage } from '../../infra/storage/storage.js';
import type { OpenData } from '../archive/index.js';
import { archiveStem, type Packer, planArchives } from '../packaging/packaging.js';
import type { PublishedFile } from '../rows.js';
import { MANIFEST } from '../runs/manifest.js';
import type { DeliveryFile } from './transport.js';

/** Plain files of a run: `<files_prefix><path>` in storage. */
export function plainFiles(storage: Storage, prefix: string, files: readonly PublishedFile[]): DeliveryFile[] {
  return files.map((f) => ({
    path: f.path,
    size: Number(f.size),
    sha256: f.sha256,
    open: (signal) => storage.read(`${prefix}${f.path}`, { signal, expectedSize: Number(f.size) }),
  }));
}

/** Bytes [start, end] of file `files[index]`, for the archive streams. */
function openDataFor(storage: Storage, prefix: string, files: readonly PublishedFile[]): OpenData {
  return async (entryIndex, start, end, signal) => {
    const f = files[entryIndex]!;
    if (end < start) return new Uint8Array(0);
    return storage.readSlice(`${prefix}${f.path}`, { start, end, signal, expectedSize: Number(f.size) });
  };
}

/**
 * The files of a packed delivery: the archive(s) named after the export, then manifest.json. Archives have no
 * sha256 of their own (they are streamed); `size` is exact, except for tar_gz whose size is not known in advance
 * (NaN, shown as null in JSON summaries).
 */
export function packedFiles(
  storage: Storage,
  prefix: string,
  files: readonly PublishedFile[],
  packer: Packer,
  exportName: string,
  exportId: number,
): DeliveryFile[] {
  // Named like the export's download links (packaging.ts), so a delivered archive and a link name agree.
  const archives = planArchives(archiveStem(exportName, exportId), packer, files).map(
    (a): DeliveryFile => ({
      path: a.name,
      size: a.size ?? Number.NaN,
      sha256: '',
      open: async (signal) => a.open(openDataFor(storage, prefix, a.files), 0, (a.size ?? 0) - 1, signal),
    }),
  );
  const manifest = files.find((f) => f.path === MANIFEST);
  return [...archives, ...(manifest ? plainFiles(storage, prefix, [manifest]) : [])];
}
