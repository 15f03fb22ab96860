/**
 * The anonymous passkey links of a `download` transport (R-FILE-5/6): `_transports[i]._download._files` and the
 * links mailed by `download`/`email`. The files issue owns the route that serves them
 * (`GET /api/v1/export/<id>/download/<passkey>/<file name>`) and may complete this file; the names and sizes here
 * must match what that route serves.
 *
 * Sizes come from the deterministic layouts of the archive module, computed from `_files` alone:
 * zip → one ZIP64 archive; zip_10mb / zip_2gb → standalone ZIP32 parts `<name>.<n>.zip` (planZipParts);
 * tar → POSIX pax; tar_gz → streamed, size null.
 */
import { type ArchiveEntry, computeTarLayout, computeZipLayout, planZipParts, ZIP_2GB_LIMIT, ZIP_10MB_LIMIT } from '../archive/index.js';
import type { PublishedFile } from '../exports/export-repo.js';
import { fileNameFromText } from '../file-names.js';
import type { Packer } from './registry.js';

export interface DownloadLink {
  url: string;
  /** Exact byte size of what the link serves; null when it cannot be known in advance (tar_gz). */
  size: number | null;
}

export interface DownloadLinkExport {
  id: number;
  name: string;
  passkey: string;
}

/** Archive entries of a run, in `_files` order (the order every archive of the run uses). */
export const archiveEntries = (files: readonly Pick<PublishedFile, 'path' | 'size' | 'crc32' | 'mtime'>[]): ArchiveEntry[] =>
  files.map((f) => ({ name: f.path, size: Number(f.size), crc32: Number(f.crc32), mtime: Number(f.mtime) }));

/**
 * The file name stem of a download: the export name made safe for a URL path segment and a file system
 * (file-names.ts: bidi controls removed, cut by characters), short enough for the longest archive suffix.
 */
export const downloadStem = (name: string, id: number): string => fileNameFromText(name, LONGEST_ARCHIVE_SUFFIX) || `export-${id}`;
/** `.<part>.zip` of a split archive with up to 6-digit part numbers; `.tar.gz` is shorter. */
const LONGEST_ARCHIVE_SUFFIX = '.999999.zip';

export interface DownloadFileName {
  name: string;
  size: number | null;
}

/** The file names a packer offers for a run, with exact sizes (null for tar_gz). No files → no links. */
export function downloadFiles(stem: string, packer: Packer, files: readonly Pick<PublishedFile, 'path' | 'size' | 'crc32' | 'mtime'>[]): DownloadFileName[] {
  if (files.length === 0) return [];
  const entries = archiveEntries(files);
  switch (packer) {
    case 'zip':
      return [{ name: `${stem}.zip`, size: computeZipLayout(entries, { zip64: 'always' }).totalSize }];
    case 'tar':
      return [{ name: `${stem}.tar`, size: computeTarLayout(entries).totalSize }];
    case 'tar_gz':
      return [{ name: `${stem}.tar.gz`, size: null }];
    case 'zip_10mb':
    case 'zip_2gb':
      return planZipParts(entries, packer === 'zip_10mb' ? ZIP_10MB_LIMIT : ZIP_2GB_LIMIT).map((part) => ({
        name: `${stem}.${part.number}.zip`,
        size: part.size,
      }));
  }
}

/**
 * Absolute links of a `download` transport entry for the export's published files. The URL stays the same across
 * runs (R-FILE-6): only the passkey and the export name are in it.
 */
export function downloadLinks(
  row: DownloadLinkExport,
  files: readonly Pick<PublishedFile, 'path' | 'size' | 'crc32' | 'mtime'>[],
  packer: Packer | undefined,
  publicUrl: string,
): DownloadLink[] {
  const stem = downloadStem(row.name, row.id);
  return downloadFiles(stem, packer ?? 'zip', files).map((f) => ({
    url: `${publicUrl}/api/v1/export/${row.id}/download/${row.passkey}/${encodeURIComponent(f.name)}`,
    size: f.size,
  }));
}
