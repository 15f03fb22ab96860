import type { Readable } from 'node:stream';

export interface ReadOptions {
  /** First byte (inclusive); default 0. */
  start?: number;
  /** Last byte (inclusive), as in HTTP `Range: bytes=start-end`; default the last byte of the object. */
  end?: number;
  signal?: AbortSignal;
  /**
   * The size recorded when the object was written (`_files.size`). When given, an object of another size fails with
   * a StorageError `ESIZE` before any byte is returned: a changed file must fail, never corrupt an archive.
   */
  expectedSize?: number;
}

export interface StorageStat {
  size: number;
  mtime: Date;
}

export interface StorageObject {
  key: string;
  size: number;
}

/**
 * Why a read failed, independent of the backend: `ENOENT` missing, `ESIZE` not the expected size, `ELINK` the local
 * path goes through a symbolic link (never created by us; refused so nothing outside the storage is served).
 */
export class StorageError extends Error {
  constructor(
    readonly code: 'ENOENT' | 'ESIZE' | 'ELINK',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export const storageErrorCode = (e: unknown): string | undefined => (e as { code?: string } | null)?.code;

/** Keys are built by our own code from safe parts; this guard catches a bug before it reaches a disk or a bucket. */
export const assertSafeKey = (key: string): void => {
  if (key.startsWith('/') || key.split('/').some((s) => s === '..' || s === '' || s === '.') || key.includes('\0')) {
    throw new Error(`unsafe storage key: ${JSON.stringify(key)}`);
  }
};

/**
 * Where asset files and run outputs live. Keys are relative, `/`-separated, already safe (callers build them from
 * ids and names that passed `safe-path`), never starting with `/`. Nothing outside `infra/storage` touches stored
 * bytes any other way. Backends: a local folder under DATA_DIR and an S3-compatible bucket; one shared test suite
 * (test/integration/storage/storage-suite.ts) runs against each.
 */
export interface Storage {
  /**
   * Streams an object or an inclusive byte range of it. Rejects (before any byte) with StorageError `ENOENT` when
   * missing and `ESIZE` when `expectedSize` is given and differs; the stream is destroyed when `signal` aborts.
   */
  read(key: string, opts?: ReadOptions): Promise<Readable>;
  /**
   * Like `read`, but a small slice may come back whole as a Buffer: no stream machinery per file, which is what
   * bounds files/s in archives of many small files (the archive engine reads those ahead in parallel).
   */
  readSlice(key: string, opts: ReadOptions & { start: number; end: number }): Promise<Readable | Buffer>;
  /**
   * Stores a stream under `key`, atomically: readers see the old object or the whole new one, never a part; a write
   * that fails or is aborted leaves nothing behind.
   */
  write(key: string, body: Readable, signal?: AbortSignal): Promise<{ size: number }>;
  stat(key: string): Promise<StorageStat | null>;
  /** Every object whose key starts with `prefix` (a folder prefix ends with `/`). */
  list(prefix: string): AsyncIterable<StorageObject>;
  delete(key: string): Promise<void>;
  /** Delete every object under a folder prefix (ending with `/`); missing is fine. */
  deletePrefix(prefix: string): Promise<void>;
  /** Called once at start, before anything is served: creates the root and enforces its permissions. */
  prepare?(): Promise<void>;
  /** Readiness (/readyz): rejects when the backend can't be used now (root gone or not writable, bucket unreachable). */
  check?(): Promise<void>;
  /** Releases connections (S3); the local backend has nothing to release. */
  close?(): Promise<void>;
}
