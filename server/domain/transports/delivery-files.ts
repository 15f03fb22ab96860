/**
 * What a delivery sends (R-TR-3): the published files of a run, read from storage, or — with a `packer` — the
 * run packed into archives streamed by the archive module (nothing is built on disk). `manifest.json` is always
 * delivered as a plain file too, and last (the transports order it), so its presence means the delivery is complete.
 */
import type { Storage } from '../../infra/storage/storage.js';
import {
  computeTarLayout,
  computeZipLayout,
  type OpenData,
  planZipParts,
  streamTar,
  streamTarGz,
  streamZip,
  ZIP_2GB_LIMIT,
  ZIP_10MB_LIMIT,
} from '../archive/index.js';
import type { PublishedFile } from '../rows.js';
import { archiveEntries, downloadStem } from './download-links.js';
import { MANIFEST } from './layout.js';
import type { Packer } from './registry.js';
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
function openDataFor(storage: Storage, prefix: string, files: readonly PublishedFile[], indexes?: readonly number[]): OpenData {
  return async (entryIndex, start, end, signal) => {
    const f = files[indexes ? indexes[entryIndex]! : entryIndex]!;
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
  const stem = downloadStem(exportName, exportId).replace(/\s+/g, ' ');
  const entries = archiveEntries(files);
  const open = openDataFor(storage, prefix, files);
  const archives: DeliveryFile[] = [];
  switch (packer) {
    case 'zip': {
      const layout = computeZipLayout(entries, { zip64: 'always' });
      archives.push({ path: `${stem}.zip`, size: layout.totalSize, sha256: '', open: async (signal) => streamZip(layout, open, signal) });
      break;
    }
    case 'tar': {
      const layout = computeTarLayout(entries);
      archives.push({ path: `${stem}.tar`, size: layout.totalSize, sha256: '', open: async (signal) => streamTar(layout, open, signal) });
      break;
    }
    case 'tar_gz': {
      const layout = computeTarLayout(entries);
      archives.push({ path: `${stem}.tar.gz`, size: Number.NaN, sha256: '', open: async (signal) => streamTarGz(layout, open, signal) });
      break;
    }
    case 'zip_10mb':
    case 'zip_2gb': {
      for (const part of planZipParts(entries, packer === 'zip_10mb' ? ZIP_10MB_LIMIT : ZIP_2GB_LIMIT)) {
        const layout = computeZipLayout(
          part.entries.map((i) => entries[i]!),
          { zip64: part.zip64 ? 'always' : 'never' },
        );
        const partOpen = openDataFor(storage, prefix, files, part.entries);
        archives.push({
          path: `${stem}.${part.number}.zip`,
          size: layout.totalSize,
          sha256: '',
          open: async (signal) => streamZip(layout, partOpen, signal),
        });
      }
      break;
    }
  }
  const manifest = files.find((f) => f.path === MANIFEST);
  return [...archives, ...(manifest ? plainFiles(storage, prefix, [manifest]) : [])];
}
