import type { Knex } from 'knex';
import { type Storage, storageErrorCode } from '../../infra/storage/storage.js';
import { createHash } from 'node:crypto';
import { computeZipLayout, streamZipRange } from '../archive/index.js';
import type { ArchiveEntry } from '../archive/entry.js';
import type { ArchiveFile } from '../archive/archive-index.js';
import { ZIP_LAYOUT_VERSION, type ZipLayout } from '../archive/zip-layout.js';
import { invalidValue, notFound } from '../errors.js';
import { isExpired } from '../runs/expiry.js';
import { resolveExportPath } from './safe-path.js';
import { fileNotFound, notPublished, runGone } from './browser-errors.js';
import {
  archiveFileList,
  exportWithPublished,
  findRunFile,
  namedRunOf,
  parseRunId,
  publishedRunOf,
  RunCache,
} from './published.js';
import type { Representation } from './representation.js';
import { fileDownloadName, selectTree, zipDownloadName } from './selection.js';
import { HTTP_ARCHIVE_OPTIONS, storageOpenData, storedFileError } from './sources.js';

/** Every ZIP response is this type; `Cache-Control: no-transform` keeps proxies from recompressing it. */
export const ZIP_TYPE = 'application/zip';

/**
 * Strong ETag of a zip/ archive: sha256 over the layout version, the selected path and the fingerprint of the run's
 * ordered [path, size, crc32, mtime] list — everything that shapes the bytes (entry names are the paths relative to
 * the selection; mode is always the default).
 */
const zipEtag = (rel: string, fingerprint: string): string =>
  `"${createHash('sha256').update(`export-manager-zip\n${ZIP_LAYOUT_VERSION}\n${rel}\n${fingerprint}`).digest('base64url')}"`;

interface ZipPlan {
  layout: ZipLayout;
  etag: string;
  files: ArchiveFile[];
}

/**
 * Computed layouts per (published run, selection): a run never changes once published and a new publish has a new
 * run id, so a second download (or a resume) of a big export skips the list query and the layout (time to first byte).
 */
const zipPlans = new RunCache<ZipPlan>(300_000);

/**
 * The owner's view of published files (R-FILE-1/2/8): `file/<path>` and `zip[/<path>]`. Ownership is checked
 * here (another user's export is a 404 like a missing one); paths go through the one safety gate first.
 */
export class FileService {
  constructor(private readonly deps: { db: Knex; storage: Storage }) {}

  /**
   * The export and the run whose files to serve: the published run, or with `runParam` (the `run` query parameter,
   * R-ROB-9) that run while its files are kept — 410 once they are gone, so a resume never mixes two runs' bytes.
   */
  private async published(ownerId: number, exportId: number, rel: string, runParam?: string) {
    const row = await exportWithPublished(this.deps.db, { id: exportId, owner_id: ownerId });
    if (!row) throw notFound('export', exportId);
    if (runParam !== undefined) {
      const runId = parseRunId(runParam);
      if (runId === null) throw invalidValue('run', 'run must be the id of a run of the export (a positive whole number)', { value: runParam });
      if (isExpired(row)) throw notPublished(rel, true);
      const run = await namedRunOf(this.deps.db, exportId, runId);
      if (run === 'gone') throw runGone(runId);
      if (!run) throw notFound('run', runId);
      return { row, run };
    }
    const run = publishedRunOf(row);
    if (!run) throw notPublished(rel, isExpired(row));
    return { row, run };
  }

  /** One published file; `requestedName` is the `filename` query parameter (extension kept). */
  async file(ownerId: number, exportId: number, rawPath: string, requestedName?: string, runParam?: string): Promise<Representation> {
    const rel = resolveExportPath(rawPath);
    const { run } = await this.published(ownerId, exportId, rel, runParam);
    const file = await findRunFile(this.deps.db, run.id, rel);
    if (file === 'folder') throw invalidValue('path', 'The path names a folder, not a file', { value: rel || '/' });
    if (!file) throw fileNotFound(rel);
    const { storage } = this.deps;
    const key = run.prefix + file.path;
    return {
      size: file.size,
      etag: `"sha256-${Buffer.from(file.sha256, 'hex').toString('base64url')}"`,
      lastModified: new Date(file.mtime * 1000),
      contentType: file.mime_type,
      fileName: fileDownloadName(file.path, requestedName),
      // A symbolic link planted in the storage folder is refused by the storage (R-FILE-8): as if the file were not there.
      open: (start, end, signal) =>
        storage.readSlice(key, { start, end, signal, expectedSize: file.size }).catch((e: unknown) => {
          throw storageErrorCode(e) === 'ELINK' ? fileNotFound(rel) : storedFileError(key, e);
        }),
    };
  }

  /** ZIP64 of the whole export, a folder or one file (entries relative to the selected folder). */
  async zip(ownerId: number, exportId: number, rawPath: string, requestedName?: string, runParam?: string): Promise<Representation> {
    const rel = resolveExportPath(rawPath);
    const { row, run } = await this.published(ownerId, exportId, rel, runParam);
    const { db } = this.deps;
    const { layout, etag, files } = await zipPlans.get(
      `${run.cacheKey}\n${rel}`,
      async () => {
        const list = await archiveFileList(db, run);
        const selected = selectTree(list.files, rel);
        const entries = new Array<ArchiveEntry>(selected.length);
        const files = new Array<ArchiveFile>(selected.length);
        for (let i = 0; i < selected.length; i++) {
          const { file, name } = selected[i];
          entries[i] = { name, size: file.size, crc32: file.crc32, mtime: file.mtime };
          files[i] = file;
        }
        return { layout: computeZipLayout(entries, { zip64: 'always' }), etag: zipEtag(rel, list.fingerprint), files };
      },
      (p) => p.files.length,
    );
    const openData = storageOpenData(this.deps.storage, run.prefix, files);
    return {
      size: layout.totalSize,
      etag,
      lastModified: run.finishedAt,
      contentType: ZIP_TYPE,
      fileName: zipDownloadName(row.name, row.id, rel, requestedName),
      open: async (start, end, signal) => streamZipRange(layout, start, end, openData, signal, HTTP_ARCHIVE_OPTIONS),
    };
  }
}
