import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import type { Knex } from 'knex';
import { nanoid } from 'nanoid';
import type { Storage } from '../../infra/storage/storage.js';
import { apiError, isAppError, notFound, payloadTooLarge } from '../errors.js';
import { MAX_COMPONENT_BYTES, stripBidi, truncateUtf8, wellFormed } from '../file-names.js';
import { assetKey } from '../storage-keys.js';
import { type AssetRow, findAsset, insertAsset } from './asset-repo.js';
import { assetClassOf, SNIFF_BYTES, sniffMimeType } from './sniff.js';

/**
 * The name a client gave, kept for `original_filename` and export file names (which are made safe again there):
 * only the last path component (browsers send `C:\fakepath\x.jpg`), no control or bidi characters, at most 255
 * bytes, cut by characters (a cut surrogate pair would be stored as an invalid string).
 */
function cleanFilename(raw: string | undefined | null): string {
  const last = String(raw ?? '').split(/[\\/]/).pop() ?? '';
  const cleaned = truncateUtf8(stripBidi(wellFormed(last)).replace(/[\x00-\x1F\x7F]/g, '').trim(), MAX_COMPONENT_BYTES);
  return cleaned || 'file';
}

/** A client error (400, not logged as a failure of ours); the client is usually gone and never sees it. */
export const uploadInterrupted = () => apiError('invalid_content', 'The upload was interrupted before its end', { path: '' });

/** Hashes, counts and keeps the first bytes of an upload on its way to storage; fails once it exceeds `limit`. */
class UploadMeter extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  head = Buffer.alloc(0);

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null, data?: Buffer) => void) {
    this.size += chunk.length;
    if (this.size > this.limit) {
      cb(payloadTooLarge(this.limit));
      return;
    }
    if (this.head.length < SNIFF_BYTES) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, SNIFF_BYTES - this.head.length)]);
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

/** One owner's asset files (R-DATA-2): uploads are streamed into storage, never held in memory. */
export class AssetService {
  constructor(
    private readonly db: Knex,
    private readonly storage: Storage,
  ) {}

  /**
   * Streams `source` to storage under a fresh key `assets/<owner>/<random>`, then inserts the row. The storage write
   * is atomic (temp name + rename), so a failed, aborted or oversized upload leaves neither a file nor a row.
   */
  async store(ownerId: number, filename: string, source: Readable, limit: number): Promise<AssetRow> {
    const meter = new UploadMeter(limit);
    // The client may cut the upload before storage.write's pipeline listens on the meter (it creates the folder
    // first): that error must not be unhandled. The pipeline still sees it, the write fails and stores nothing.
    meter.on('error', () => {});
    // The source is the client's body: its errors (connection reset, a form cut short) are the client's, not ours.
    source.on('error', (e) => meter.destroy(isAppError(e) ? e : uploadInterrupted()));
    // A request whose client went away closes without ending: that upload is incomplete and must not be stored.
    source.on('close', () => {
      if (!source.readableEnded) meter.destroy(uploadInterrupted());
    });
    const key = assetKey(ownerId, nanoid(21));
    await this.storage.write(key, source.pipe(meter));
    const mimeType = sniffMimeType(meter.head, filename);
    try {
      return await insertAsset(this.db, {
        owner_id: ownerId,
        original_filename: cleanFilename(filename),
        size: meter.size,
        sha256: meter.hash.digest('hex'),
        mime_type: mimeType,
        class: assetClassOf(mimeType),
        storage_key: key,
      });
    } catch (e) {
      await this.storage.delete(key).catch(() => {});
      throw e;
    }
  }

  async get(ownerId: number, id: number): Promise<AssetRow> {
    const row = await findAsset(this.db, ownerId, id);
    if (!row) throw notFound('asset', id);
    return row;
  }
}
