/**
 * Packaging: the one place that decides how a run's files become archives, for every way they leave the server —
 * the owner's `zip/` route, the anonymous `download/` links and their `_download._files` listing, and packed
 * transport deliveries. Here live the packers and which of them a download offers, the archive names (one stem
 * rule, see file-names.ts), the archive plans (layout, size, split parts) and the one ETag scheme (archiveEtag).
 * Leaf-ish: it knows the archive module and file names, nothing of storage, HTTP or transports.
 *
 * zip → one ZIP64 archive `<stem>.zip`; zip_10mb / zip_2gb → standalone ZIP32 parts `<stem>.<n>.zip` (planZipParts);
 * tar → POSIX pax `<stem>.tar`; tar_gz → `<stem>.tar.gz`, streamed, size unknown in advance.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import {
  type ArchiveEntry,
  archiveEtag,
  computeTarLayout,
  computeZipLayout,
  type OpenData,
  planZipParts,
  type RangeStreamOptions,
  streamTarGz,
  streamTarRange,
  streamZipRange,
  type TarLayout,
  ZIP_2GB_LIMIT,
  ZIP_10MB_LIMIT,
  type ZipLayout,
} from '../archive/index.js';
import { fileNameFromText } from '../file-names.js';

export const PACKERS = ['zip', 'zip_10mb', 'zip_2gb', 'tar', 'tar_gz'] as const;
export type Packer = (typeof PACKERS)[number];

/** Transport types that send the run's files somewhere, and so honour `packer`; the others send no files. */
const PACKABLE_TYPES: ReadonlySet<string> = new Set(['directory', 'sftp', 'ftp', 's3', 'url']);

/** What a `_transports` entry says about packing (stored or validated form). */
export interface PackerEntry {
  type?: unknown;
  packer?: unknown;
}

const packerOf = (entry: PackerEntry): Packer | null =>
  typeof entry.packer === 'string' && (PACKERS as readonly string[]).includes(entry.packer)
    ? (entry.packer as Packer)
    : null;

/** The packer a delivery of `entry` uses; null: the run's files are delivered as they are. */
export const deliveryPacker = (entry: PackerEntry): Packer | null =>
  PACKABLE_TYPES.has(String(entry.type)) ? packerOf(entry) : null;

/**
 * The packers an export's anonymous download links offer: those of its `download` transports (`zip` when one has
 * no packer), deduplicated, in order. None: the export has no anonymous links (R-ROB-6).
 */
export const offeredPackers = (transports: unknown): Packer[] => {
  const list = Array.isArray(transports) ? (transports as (PackerEntry | null)[]) : [];
  return [...new Set(list.filter((t) => t?.type === 'download').map((t) => packerOf(t as PackerEntry) ?? 'zip'))];
};

/** `.<part>.zip` of a split archive with up to 6-digit part numbers; every other suffix is shorter. */
const LONGEST_ARCHIVE_SUFFIX = '.999999.zip';

/**
 * The stem of every archive named after an export (download links, delivered archives, the default `zip/` name):
 * the export name through the one sanitiser of file-names.ts, short enough for the longest archive suffix, so the
 * same export gets the same name wherever its archive appears; `export-<id>` when nothing is left of the name.
 */
export const archiveStem = (exportName: string, exportId: number): string =>
  fileNameFromText(exportName, LONGEST_ARCHIVE_SUFFIX) || `export-${exportId}`;

/**
 * The name of a `zip[/<path>]` download (R-FILE-2): the archive stem, plus `-<leaf>` when a path other than `/` is
 * given, plus `.zip` — so the whole export's ZIP has the name of its `zip` download link. `filename` overrides it
 * (through the same sanitiser) and `.zip` is added when missing.
 */
export const zipDownloadName = (
  exportName: string,
  exportId: number,
  rel: string,
  requested: string | undefined,
): string => {
  const wanted = requested === undefined ? '' : fileNameFromText(requested, '.zip');
  const stem = archiveStem(exportName, exportId);
  const base = wanted || (rel ? fileNameFromText(`${stem}-${posix.basename(rel)}`, '.zip') : stem);
  return base.toLowerCase().endsWith('.zip') ? base : `${base}.zip`;
};

/** What packing needs of a published file (`_files` row; pg may hand numbers over as strings). */
export interface PackableFile {
  path: string;
  size: number | string;
  crc32: number | string;
  mtime: number | string;
}

/** Archive entries of a run, in `_files` order (the order every archive of the run uses). */
export const archiveEntries = (files: readonly PackableFile[]): ArchiveEntry[] =>
  files.map((f) => ({ name: f.path, size: Number(f.size), crc32: Number(f.crc32), mtime: Number(f.mtime) }));

const ZIP_TYPE = 'application/zip';
const TAR_TYPE = 'application/x-tar';
const TAR_GZ_TYPE = 'application/gzip';

/**
 * One archive: its name, exact size (null for tar_gz), validator, media type and the files it holds (in entry order,
 * for the caller's OpenData: entry i reads `files[i]`). Nothing is built: `open` streams bytes from the layout.
 */
export interface ArchivePlan<F> {
  name: string;
  size: number | null;
  /** Strong ETag over everything that shapes the bytes (archiveEtag); null for tar_gz (its bytes depend on zlib). */
  etag(): string | null;
  contentType: string;
  /** What a passkey download serves, for the metrics. */
  kind: 'download' | 'split_part' | 'tar';
  files: readonly F[];
  /** Bytes [start, end] (inclusive); tar_gz ignores them and streams everything. */
  open(openData: OpenData, start: number, end: number, signal?: AbortSignal, options?: RangeStreamOptions): Readable;
}

/** Computed once, on first use: listing `_download._files` needs only sizes, which split plans know without one. */
const lazy = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

const zipPlan = <F>(
  name: string,
  size: number,
  layout: () => ZipLayout,
  files: readonly F[],
  kind: ArchivePlan<F>['kind'],
): ArchivePlan<F> => ({
  name,
  size,
  etag: () => archiveEtag(layout()),
  contentType: ZIP_TYPE,
  kind,
  files,
  open: (openData, start, end, signal, options) => streamZipRange(layout(), start, end, openData, signal, options),
});

const tarPlan = <F>(name: string, layout: TarLayout, files: readonly F[]): ArchivePlan<F> => ({
  name,
  size: layout.totalSize,
  etag: () => archiveEtag(layout),
  contentType: TAR_TYPE,
  kind: 'tar',
  files,
  open: (openData, start, end, signal, options) => streamTarRange(layout, start, end, openData, signal, options),
});

/** The whole ZIP64 archive `name` of `entries` (the owner's `zip/` route; names relative to its selection). */
export const zipArchive = <F>(name: string, entries: readonly ArchiveEntry[], files: readonly F[]): ArchivePlan<F> => {
  const layout = computeZipLayout([...entries], { zip64: 'always' });
  return zipPlan(name, layout.totalSize, () => layout, files, 'download');
};

/**
 * The archives `packer` makes of a run's files, named `<stem>.<suffix>`, in order. No files → no archives (and so
 * no links). The same plans give `_download._files` (names, sizes), the `download/` responses and packed deliveries.
 */
export function planArchives<F extends PackableFile>(
  stem: string,
  packer: Packer,
  files: readonly F[],
): ArchivePlan<F>[] {
  if (files.length === 0) return [];
  const entries = archiveEntries(files);
  switch (packer) {
    case 'zip':
      return [zipArchive(`${stem}.zip`, entries, files)];
    case 'tar':
      return [tarPlan(`${stem}.tar`, computeTarLayout(entries), files)];
    case 'tar_gz': {
      const layout = computeTarLayout(entries);
      return [
        {
          name: `${stem}.tar.gz`,
          size: null,
          etag: () => null,
          contentType: TAR_GZ_TYPE,
          kind: 'tar',
          files,
          open: (openData, _start, _end, signal, options) => streamTarGz(layout, openData, signal, options),
        },
      ];
    }
    case 'zip_10mb':
    case 'zip_2gb':
      return planZipParts(entries, packer === 'zip_10mb' ? ZIP_10MB_LIMIT : ZIP_2GB_LIMIT).map((part) =>
        zipPlan(
          `${stem}.${part.number}.zip`,
          part.size,
          lazy(() =>
            computeZipLayout(
              part.entries.map((i) => entries[i]),
              { zip64: part.zip64 ? 'always' : 'never' },
            ),
          ),
          part.entries.map((i) => files[i]),
          'split_part',
        ),
      );
  }
}
