/**
 * The anonymous passkey links of a `download` transport (R-FILE-5/6, R-ROB-6, R-ROB-9): `_transports[i]._download._files`
 * and the links in e-mails and webhook bodies. They exist only while the export has a `download` transport; the route
 * `GET /api/v1/export/<id>/download/<passkey>/[run/<runId>/]<file name>` (DownloadService) serves exactly the names and
 * sizes computed here.
 *
 * Sizes come from the deterministic layouts of the archive module, computed from `_files` alone:
 * zip → one ZIP64 archive; zip_10mb / zip_2gb → standalone ZIP32 parts `<name>.<n>.zip` (planZipParts);
 * tar → POSIX pax; tar_gz → streamed, size null.
 */
import { type ArchiveEntry, computeTarLayout, computeZipLayout, planZipParts, ZIP_2GB_LIMIT, ZIP_10MB_LIMIT } from '../archive/index.js';
import type { PublishedFile } from '../rows.js';
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
 * The path of a passkey link below `<PUBLIC_URL>/api/v1/export/<id>/download/<passkey>/`. With a run id it names
 * the run (`run/<runId>/<file name>`, R-ROB-9): a resume of that link either continues the same bytes or fails
 * loudly once the run's files are gone; without one it is the stable alias of the latest run (the seed's form).
 */
export const downloadPath = (row: Pick<DownloadLinkExport, 'id' | 'passkey'>, fileName: string, runId?: number): string =>
  `/api/v1/export/${row.id}/download/${row.passkey}/${runId === undefined ? '' : `run/${runId}/`}${encodeURIComponent(fileName)}`;

/**
 * Absolute links of a `download` transport entry for the files of run `runId` (the published run in `_download`,
 * the delivered run in e-mails and webhooks). Every link handed out names its run (R-ROB-9).
 */
export function downloadLinks(
  row: DownloadLinkExport,
  runId: number,
  files: readonly Pick<PublishedFile, 'path' | 'size' | 'crc32' | 'mtime'>[],
  packer: Packer | undefined,
  publicUrl: string,
): DownloadLink[] {
  const stem = downloadStem(row.name, row.id);
  return downloadFiles(stem, packer ?? 'zip', files).map((f) => ({ url: `${publicUrl}${downloadPath(row, f.name, runId)}`, size: f.size }));
}

/** The packers of an export's `download` transports (deduplicated, in order); none means no anonymous links. */
export const downloadPackers = (transports: unknown): Packer[] => {
  const list = Array.isArray(transports) ? (transports as { type?: unknown; packer?: unknown }[]) : [];
  return [...new Set(list.filter((t) => t?.type === 'download').map((t) => (typeof t.packer === 'string' ? (t.packer as Packer) : 'zip')))];
};
