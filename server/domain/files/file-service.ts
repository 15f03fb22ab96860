import type { Knex } from 'knex';
import type { Storage } from '../../infra/storage/storage.js';
import { createHash } from 'node:crypto';
import { computeZipLayout, streamZipRange } from '../archive/index.js';
import { ZIP_LAYOUT_VERSION } from '../archive/zip-layout.js';
import { invalidValue, isAppError, notFound, serverError } from '../errors.js';
import { isExpired } from '../exports/expiry.js';
import { realpathWithin, resolveExportPath } from './safe-path.js';
import { fileNotFound, notPublished } from './browser-errors.js';
import { archiveFileList, exportWithPublished, findRunFile, publishedRunOf } from './published.js';
import type { Representation } from './representation.js';
import { fileDownloadName, selectTree, zipDownloadName } from './selection.js';
import { HTTP_ARCHIVE_OPTIONS, openStored, storageOpenData } from './sources.js';

/** Every ZIP response is this type; `Cache-Control: no-transform` keeps proxies from recompressing it. */
export const ZIP_TYPE = 'application/zip';

/**
 * Strong ETag of a zip/ archive: sha256 over the layout version, the selected path and the run's ordered
 * [path, size, crc32, mtime] list exactly as PostgreSQL aggregated it — everything that shapes the bytes (entry
 * names are the paths relative to the selection; mode is always the default). Hashing the one JSON text costs
 * ~5 ms for 100,000 files where hashing entry by entry (archiveEtag) costs ~35 ms of time to first byte.
 */
const zipEtag = (rel: string, listText: string): string =>
  `"${createHash('sha256').update(`export-manager-zip\n${ZIP_LAYOUT_VERSION}\n${rel}\n`).update(listText).digest('base64url')}"`;

/**
 * The owner's view of published files (R-FILE-1/2/8): `file/<path>` and `zip[/<path>]`. Ownership is checked
 * here (another user's export is a 404 like a missing one); paths go through the one safety gate first.
 */
export class FileService {
  constructor(private readonly deps: { db: Knex; storage: Storage }) {}

  private async published(ownerId: number, exportId: number, rel: string) {
    const row = await exportWithPublished(this.deps.db, { id: exportId, owner_id: ownerId });
    if (!row) throw notFound('export', exportId);
    const run = publishedRunOf(row);
    if (!run) throw notPublished(rel, isExpired(row));
    return { row, run };
  }

  /** One published file; `requestedName` is the `filename` query parameter (extension kept). */
  async file(ownerId: number, exportId: number, rawPath: string, requestedName?: string): Promise<Representation> {
    const rel = resolveExportPath(rawPath);
    const { run } = await this.published(ownerId, exportId, rel);
    const file = await findRunFile(this.deps.db, run.id, rel);
    if (file === 'folder') throw invalidValue('path', 'The path names a folder, not a file', { value: rel || '/' });
    if (!file) throw fileNotFound(rel);
    const { storage } = this.deps;
    const key = run.prefix + file.path;
    // Symlinks in the storage folder must not lead outside the run's folder (R-FILE-8). Archives read the same
    // keys, which only the run's staging writer creates, so they skip this per-file check.
    const runRoot = storage.localPath(run.prefix.slice(0, -1));
    if (runRoot) {
      await realpathWithin(runRoot, file.path).catch((e: unknown) => {
        throw isAppError(e) ? fileNotFound(rel) : serverError('internal_file_error', `published file ${key} is unreadable`, e);
      });
    }
    return {
      size: file.size,
      etag: `"sha256-${Buffer.from(file.sha256, 'hex').toString('base64url')}"`,
      lastModified: new Date(file.mtime * 1000),
      contentType: file.mime_type,
      fileName: fileDownloadName(file.path, requestedName),
      open: (start, end, signal) => openStored(storage, key, file.size, start, end, signal),
    };
  }

  /** ZIP64 of the whole export, a folder or one file (entries relative to the selected folder). */
  async zip(ownerId: number, exportId: number, rawPath: string, requestedName?: string): Promise<Representation> {
    const rel = resolveExportPath(rawPath);
    const { row, run } = await this.published(ownerId, exportId, rel);
    const list = await archiveFileList(this.deps.db, run.id);
    const selected = selectTree(list.files, rel);
    const layout = computeZipLayout(
      selected.map(({ file, name }) => ({ name, size: file.size, crc32: file.crc32, mtime: file.mtime })),
      { zip64: 'always' },
    );
    const openData = storageOpenData(this.deps.storage, run.prefix, selected.map((s) => s.file));
    return {
      size: layout.totalSize,
      etag: zipEtag(rel, list.text),
      lastModified: run.finishedAt,
      contentType: ZIP_TYPE,
      fileName: zipDownloadName(row.name, row.id, rel, requestedName),
      open: async (start, end, signal) => streamZipRange(layout, start, end, openData, signal, HTTP_ARCHIVE_OPTIONS),
    };
  }
}
