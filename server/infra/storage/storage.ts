import type { Readable } from 'node:stream';

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
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
 * Where asset files and run outputs live. Keys are relative, `/`-separated, already safe
 * (callers build them from ids and names that passed `safe-path`), never starting with `/`.
 * Implementations: local folder under DATA_DIR (now), S3 (later) — one shared test suite runs against each.
 */
export interface Storage {
  /** Stream a whole object or an inclusive byte range of it. Rejects with code ENOENT when missing. */
  read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable>;
  /** Store a stream under `key`, atomically: readers see the old object or the whole new one, never a part. */
  write(key: string, body: Readable, signal?: AbortSignal): Promise<{ size: number }>;
  stat(key: string): Promise<StorageStat | null>;
  /** Every object whose key starts with `prefix` (a folder prefix ends with `/`). */
  list(prefix: string): AsyncIterable<StorageObject>;
  delete(key: string): Promise<void>;
  /** Delete every object under a folder prefix; missing is fine. */
  deletePrefix(prefix: string): Promise<void>;
  /** Local path of the object when the backend is a local folder (fast paths such as sendfile-like reads); else null. */
  localPath(key: string): string | null;
  /** Called once at start, before anything is served: creates the root and enforces its permissions. */
  prepare?(): Promise<void>;
  /** Readiness (/readyz): rejects when the backend can't be used now (root gone or not writable, bucket unreachable). */
  check?(): Promise<void>;
}
