import type { Readable } from 'node:stream';

/**
 * One downloadable thing (a published file, a ZIP of a folder, a passkey archive) as the HTTP layer needs it:
 * validators and length are known before any byte is produced, so status and headers can be decided first.
 */
export interface Representation {
  /** Exact length in bytes; null when it can't be known in advance (tar.gz): no Content-Length, no ranges. */
  size: number | null;
  /** Strong validator, quoted (`"…"`); null: none. */
  etag: string | null;
  lastModified: Date;
  contentType: string;
  /** What a passkey download serves, for the metrics: a whole ZIP, one part of a split ZIP, or a tar (.gz). */
  kind?: 'download' | 'split_part' | 'tar';
  /** Download name offered in Content-Disposition. */
  fileName: string;
  /** Bytes [start, end] (inclusive); for size null the whole body (0, -1). Must open its sources before resolving. */
  open(start: number, end: number, signal: AbortSignal): Promise<Readable | Buffer>;
}
