import type { Knex } from 'knex';
import { type Storage, storageErrorCode } from '../../infra/storage/storage.js';
import type { ArchiveFile } from '../archive/archive-index.js';
import type { ArchiveEntry } from '../archive/entry.js';
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
import { type ArchivePlan, zipArchive, zipDownloadName } from '../packaging/packaging.js';
import { fileDownloadName, selectTree } from './selection.js';
import { HTTP_ARCHIVE_OPTIONS, storageOpenData, storedFileError } from './sources.js';

interface ZipPlan {
  archive: ArchivePlan<ArchiveFile>;
  /** archiveEtag of the layout (packaging.ts), the one scheme of every archive: hashed once per cached plan. */
  etag: string;
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
    const { archive, etag } = await zipPlans.get(
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
        const archive = zipArchive('', entries, files);
        return { archive, etag: archive.etag() as string };
      },
      (p) => p.archive.files.length,
    );
    const openData = storageOpenData(this.deps.storage, run.prefix, archive.files);
    return {
      size: archive.size,
      etag,
      lastModified: run.finishedAt,
      contentType: archive.contentType,
      fileName: zipDownloadName(row.name, row.id, rel, requestedName),
      open: async (start, end, signal) => archive.open(openData, start, end, signal, HTTP_ARCHIVE_OPTIONS),
    };
  }
}
