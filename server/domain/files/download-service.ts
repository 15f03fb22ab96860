import { createHash, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { Storage } from '../../infra/storage/storage.js';
import {
  archiveEtag,
  computeTarLayout,
  computeZipLayout,
  planZipParts,
  streamTarGz,
  streamTarRange,
  streamZipRange,
  ZIP_2GB_LIMIT,
  ZIP_10MB_LIMIT,
} from '../archive/index.js';
import type { ArchiveFile } from '../archive/archive-index.js';
import { AppError, notFound } from '../errors.js';
import { isExpired } from '../runs/expiry.js';
import { assertNotThrottled, recordFailure } from '../sessions/throttle.js';
import { archiveEntries, downloadFiles, downloadPackers, downloadStem } from '../transports/download-links.js';
import type { Packer } from '../transports/registry.js';
import { fileNotFound, invalidPasskey, notPublished, runGone } from './browser-errors.js';
import { ZIP_TYPE } from './file-service.js';
import {
  archiveFiles,
  type ExportWithPublished,
  exportWithPublished,
  namedRunOf,
  parseRunId,
  type PublishedRun,
  publishedRunOf,
} from './published.js';
import type { Representation } from './representation.js';
import { HTTP_ARCHIVE_OPTIONS, storageOpenData } from './sources.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time passkey check (R-FILE-6): equal-length digests, so neither length nor prefix leaks through timing. */
export const passkeyMatches = (given: string, actual: string): boolean => timingSafeEqual(digest(given), digest(actual));

const expired = () =>
  Object.assign(new AppError(410, 'user', 'export_expired', 'The download has expired'), { browserKey: 'export.expired' });

/**
 * Anonymous passkey downloads (R-FILE-5/6, R-ROB-6, R-ROB-9): `download/<passkey>/[run/<runId>/]<file name>`.
 * Every failure here is shown to a browser (the route maps it to `#server_error:<key>`). A link exists only while the
 * export has a `download` transport: without one, a right passkey answers like a wrong one. Bad passkeys and unknown
 * export ids count as failures of the caller's address (`passkey:<address>`, 20 free, then a growing block that answers
 * 429 / `export.too.many.attempts` with `Retry-After`).
 */
export class DownloadService {
  constructor(private readonly deps: { db: Knex; storage: Storage }) {}

  /** `rest` is the still percent-encoded path after the passkey: `<file name>` or `run/<runId>/<file name>`. */
  async resolve(exportId: number, passkey: string, rest: string, address: string): Promise<Representation> {
    const { db } = this.deps;
    const keys = [`passkey:${address}`];
    await assertNotThrottled(db, keys);
    const row = await exportWithPublished(db, { id: exportId });
    if (!row) {
      await recordFailure(db, keys);
      throw notFound('export', exportId);
    }
    const packers = downloadPackers(row.transports);
    // Compared even without a download transport, so both answers take the same time.
    if (!passkeyMatches(passkey, row.passkey) || packers.length === 0) {
      await recordFailure(db, keys);
      throw invalidPasskey();
    }
    if (isExpired(row)) throw expired();
    const named = /^run\/([^/]*)\/([^/]*)$/s.exec(rest);
    const rawName = named ? named[2] : rest;
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      throw fileNotFound(rawName);
    }
    const run = named ? await this.namedRun(exportId, named[1]) : publishedRunOf(row);
    if (!run) throw notPublished('', false);
    const files = await archiveFiles(db, run);
    return this.packed(row, packers, run.prefix, run.finishedAt, files, name);
  }

  /** The run a run-named link stands for: kept files, or a loud 410 once they are gone (never another run's bytes). */
  private async namedRun(exportId: number, raw: string): Promise<PublishedRun> {
    const runId = parseRunId(raw);
    const run = runId === null ? null : await namedRunOf(this.deps.db, exportId, runId);
    if (run === 'gone') throw runGone(runId as number);
    if (!run) throw notFound('run', raw);
    return run;
  }

  /** The archive a link name stands for, with the same names and sizes `_download._files` shows. */
  private packed(
    row: ExportWithPublished,
    packers: Packer[],
    prefix: string,
    lastModified: Date,
    files: ArchiveFile[],
    name: string,
  ): Representation {
    const stem = downloadStem(row.name, row.id);
    for (const packer of packers) {
      const index = downloadFiles(stem, packer, files).findIndex((f) => f.name === name);
      if (index < 0) continue;
      const { storage } = this.deps;
      const entries = archiveEntries(files);
      const base = { lastModified, fileName: name };
      if (packer === 'zip' || packer === 'zip_10mb' || packer === 'zip_2gb') {
        let selected = files;
        let layout = computeZipLayout(entries, { zip64: 'always' });
        if (packer !== 'zip') {
          const part = planZipParts(entries, packer === 'zip_10mb' ? ZIP_10MB_LIMIT : ZIP_2GB_LIMIT)[index];
          selected = part.entries.map((i) => files[i]);
          layout = computeZipLayout(part.entries.map((i) => entries[i]), { zip64: part.zip64 ? 'always' : 'never' });
        }
        const openData = storageOpenData(storage, prefix, selected);
        return {
          ...base,
          size: layout.totalSize,
          etag: archiveEtag(layout),
          contentType: ZIP_TYPE,
          kind: packer === 'zip' ? 'download' : 'split_part',
          open: async (start, end, signal) => streamZipRange(layout, start, end, openData, signal, HTTP_ARCHIVE_OPTIONS),
        };
      }
      const layout = computeTarLayout(entries);
      const openData = storageOpenData(storage, prefix, files);
      if (packer === 'tar') {
        return {
          ...base,
          size: layout.totalSize,
          etag: archiveEtag(layout),
          contentType: 'application/x-tar',
          kind: 'tar',
          open: async (start, end, signal) => streamTarRange(layout, start, end, openData, signal, HTTP_ARCHIVE_OPTIONS),
        };
      }
      // tar_gz: gzip output length isn't predictable, so no length, no ranges and no validator.
      return { ...base, size: null, etag: null, contentType: 'application/gzip', kind: 'tar', open: async (_s, _e, signal) => streamTarGz(layout, openData, signal, HTTP_ARCHIVE_OPTIONS) };
    }
    throw fileNotFound(name);
  }
}
