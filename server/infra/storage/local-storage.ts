import { createWriteStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, chmod, mkdir, open, opendir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { nanoid } from 'nanoid';
import { fileReadStream } from './file-read-stream.js';
import type { ByteRange, Storage, StorageObject, StorageStat } from './storage.js';

const READ_CHUNK = 512 * 1024;

// Stored exports and assets are the users' data: readable by the service's own account only.
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** Storage in a local folder (default backend, under DATA_DIR/storage). Writes go to a temp name and are renamed. */
export class LocalStorage implements Storage {
  private rootReady: Promise<void> | null = null;

  constructor(private readonly root: string) {}

  /**
   * The root is made 0700 even when it exists: older versions left it (and DATA_DIR) readable by every local
   * account, and a 0700 root closes every file below it at once.
   */
  ensureRoot(): Promise<void> {
    this.rootReady ??= mkdir(this.root, { recursive: true, mode: DIR_MODE })
      .then(() => chmod(this.root, DIR_MODE))
      .catch((e) => {
        this.rootReady = null;
        throw e;
      });
    return this.rootReady;
  }

  /** At start, so a server that only serves downloads closes an old 0755 storage folder too. */
  prepare(): Promise<void> {
    return this.ensureRoot();
  }

  /** The root is still there, a folder, and ours to read, write and enter (an unmounted volume fails here). */
  async check(): Promise<void> {
    const s = await stat(this.root);
    if (!s.isDirectory()) throw new Error(`${this.root} is not a folder`);
    await access(this.root, constants.R_OK | constants.W_OK | constants.X_OK);
  }

  private full(key: string): string {
    // Keys are built by our own code from safe parts; this guard catches a bug before it touches the disk.
    if (key.startsWith('/') || key.split('/').some((s) => s === '..' || s === '') || key.includes('\0')) {
      throw new Error(`unsafe storage key: ${JSON.stringify(key)}`);
    }
    return path.join(this.root, key);
  }

  localPath(key: string): string {
    return this.full(key);
  }

  async read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    // Open first so a missing file rejects here (before any HTTP status is sent) rather than as a stream error.
    const handle = await open(this.full(key), 'r');
    if (signal?.aborted) {
      await handle.close().catch(() => {});
      signal.throwIfAborted();
    }
    return fileReadStream(handle, { start: range?.start, end: range?.end }, READ_CHUNK, signal);
  }

  async write(key: string, body: Readable, signal?: AbortSignal): Promise<{ size: number }> {
    const target = this.full(key);
    await this.ensureRoot();
    await mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
    // Beside the target (rename stays within one file system), but not named after it: `<name>.<id>.part` was
    // longer than 255 bytes for a long name, and every export with such a file failed.
    const temp = path.join(path.dirname(target), `.${nanoid(12)}.part`);
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
    });
    try {
      await pipeline(body, createWriteStream(temp, { mode: FILE_MODE }), { signal });
      await rename(temp, target);
    } catch (e) {
      await unlink(temp).catch(() => {});
      throw e;
    }
    return { size };
  }

  async stat(key: string): Promise<StorageStat | null> {
    try {
      const s = await stat(this.full(key));
      return s.isFile() ? { size: s.size, mtime: s.mtime } : null;
    } catch {
      return null;
    }
  }

  async *list(prefix: string): AsyncIterable<StorageObject> {
    const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    yield* this.walk(base);
  }

  private async *walk(keyDir: string): AsyncIterable<StorageObject> {
    let dir: Awaited<ReturnType<typeof opendir>>;
    try {
      dir = await opendir(keyDir ? this.full(keyDir) : this.root);
    } catch {
      return;
    }
    for await (const entry of dir) {
      const key = keyDir ? `${keyDir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) yield* this.walk(key);
      else if (entry.isFile()) yield { key, size: (await stat(this.full(key))).size };
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.full(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    await rm(this.full(base), { recursive: true, force: true });
  }
}
