import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform, type Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import mime from 'mime-types';
import type { Storage } from '../../infra/storage/storage.js';

/** One file a run wrote: what `_files` shows once the run is published (R-OUT-6). */
export interface StagedFile {
  path: string;
  size: number;
  sha256: string;
  crc32: number;
  mime_type: string;
  eas_id?: number | null;
  eas_fileclass?: string | null;
  /** Unix seconds; part of the deterministic archive layout. */
  mtime: number;
}

export interface FileMeta {
  mime_type?: string;
  eas_id?: number;
  eas_fileclass?: string;
}

const mimeTypeOf = (path: string) => mime.lookup(path) || 'application/octet-stream';

/**
 * A run's private staging folder (R-ENG-4). Every file written through it is hashed on the way (size, SHA-256,
 * CRC-32) so publishing needs no second read, and archives can later be laid out from `_files` alone.
 */
export class Staging {
  readonly files: StagedFile[] = [];
  private readonly paths = new Set<string>();

  constructor(
    private readonly storage: Storage,
    readonly prefix: string,
    private readonly signal: AbortSignal,
    private readonly onBytes: (n: number) => void = () => {},
  ) {}

  has(path: string) {
    return this.paths.has(path);
  }

  /** Stores `source` as `path` (relative, already safe) and records it. */
  async writeFile(path: string, source: Readable | Buffer | string, meta: FileMeta = {}): Promise<StagedFile> {
    if (this.paths.has(path)) throw new Error(`file ${path} written twice in one run`);
    this.paths.add(path);
    const hash = createHash('sha256');
    let crc = 0;
    let size = 0;
    const meter = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        hash.update(chunk);
        crc = crc32(chunk, crc);
        size += chunk.length;
        this.onBytes(chunk.length);
        cb(null, chunk);
      },
    });
    const input = typeof source === 'string' || Buffer.isBuffer(source) ? Readable.from([Buffer.from(source)]) : source;
    // A stop destroys the open streams at any moment, possibly before the storage listens to `meter` (it awaits a
    // mkdir first): the error must not go unhandled; storage.write sees the destroyed stream and rejects.
    meter.on('error', () => {});
    input.on('error', (e) => meter.destroy(e));
    await this.storage.write(this.prefix + path, input.pipe(meter), this.signal);
    const file: StagedFile = {
      path,
      size,
      sha256: hash.digest('hex'),
      crc32: crc >>> 0,
      mime_type: meta.mime_type ?? mimeTypeOf(path),
      eas_id: meta.eas_id ?? null,
      eas_fileclass: meta.eas_fileclass ?? null,
      mtime: Math.floor(Date.now() / 1000),
    };
    this.files.push(file);
    return file;
  }

  /** A Writable for streaming writers; `done` resolves with the recorded file once the stream is stored. */
  openWritable(path: string, meta: FileMeta = {}): { stream: Writable; done: Promise<StagedFile> } {
    const stream = new PassThrough({ highWaterMark: 256 * 1024 });
    const done = this.writeFile(path, stream, meta);
    // Callers await `done`; the catch here only keeps an early failure from being reported as unhandled.
    done.catch(() => {});
    return { stream, done };
  }
}
