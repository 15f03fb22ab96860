import { close, constants, createWriteStream, fstat, open, read } from 'node:fs';
import { access, chmod, mkdir, open as openHandle, opendir, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { nanoid } from 'nanoid';
import { fileReadStream } from './file-read-stream.js';
import { assertSafeKey, type ReadOptions, type Storage, StorageError, type StorageObject, type StorageStat } from './storage.js';

/** Read size of streamed reads (file/ and big archive entries). 1 MiB was no faster here and took 50 concurrent archive downloads over 300 MB RSS. */
const READ_CHUNK = 512 * 1024;
/** Slices up to this size are read into one Buffer: no stream machinery per small file. */
const SMALL_READ = 256 * 1024;
/** A folder found free of symbolic links is trusted this long (ms) before it is checked again. */
const LINK_CHECK_TTL = 5_000;

// Stored exports and assets are the users' data: readable by the service's own account only.
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
// O_NOFOLLOW: a symbolic link as the last component fails with ELOOP instead of being followed.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

const p = <T>(f: (cb: (err: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

const sizeChanged = (key: string, expected: number, actual: string) =>
  new StorageError('ESIZE', `${key}: size ${actual} differs from the recorded ${expected}`);

/** Reads until `length` bytes or end of file; returns the count. */
const readFully = async (fd: number, buffer: Buffer, length: number, position: number): Promise<number> => {
  let got = 0;
  while (got < length) {
    const n = await p<number>((cb) => read(fd, buffer, got, length - got, position + got, cb));
    if (n === 0) break;
    got += n;
  }
  return got;
};

/**
 * Storage in a local folder (default backend, under DATA_DIR/storage). Writes go to a temp name and are renamed.
 * Reads never follow a symbolic link (R-FILE-8): our writer creates none, so one planted in the folder is refused
 * (StorageError `ELINK`) rather than allowed to lead outside the storage.
 */
export class LocalStorage implements Storage {
  private rootReady: Promise<void> | null = null;
  private realRoot: Promise<string> | null = null;
  /** Folders (relative) checked free of links, with the time the check expires. */
  private readonly linkFree = new Map<string, number>();

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
    assertSafeKey(key);
    return path.join(this.root, key);
  }

  /**
   * The folder of `key` must be reached without a symbolic link: its real path is the lexical one below the real
   * root (the root itself may be a link, e.g. to a mounted volume). Cached briefly: archives read thousands of
   * files from a few folders.
   */
  private async checkFolder(key: string): Promise<void> {
    const dir = path.posix.dirname(key);
    const now = Date.now();
    if ((this.linkFree.get(dir) ?? 0) > now) return;
    this.realRoot ??= realpath(this.root).catch((e) => {
      this.realRoot = null;
      throw e;
    });
    const realRoot = await this.realRoot.catch(notFound(key));
    const expected = dir === '.' ? realRoot : path.join(realRoot, dir);
    const real = await realpath(path.join(this.root, dir)).catch(notFound(key));
    if (real !== expected) throw new StorageError('ELINK', `${key}: its folder is reached through a symbolic link`);
    if (this.linkFree.size > 10_000) this.linkFree.clear();
    this.linkFree.set(dir, now + LINK_CHECK_TTL);
  }

  private async openFd(key: string): Promise<number> {
    const full = this.full(key);
    await this.checkFolder(key);
    return p<number>((cb) => open(full, OPEN_FLAGS, cb)).catch((e) => {
      throw openError(key, e);
    });
  }

  async read(key: string, opts: ReadOptions = {}): Promise<Readable> {
    const { signal, expectedSize } = opts;
    signal?.throwIfAborted();
    // Open first so a missing file rejects here (before any HTTP status is sent) rather than as a stream error.
    const full = this.full(key);
    await this.checkFolder(key);
    const fh = await openHandle(full, OPEN_FLAGS).catch((e) => {
      throw openError(key, e);
    });
    try {
      const { size } = await fh.stat();
      if (expectedSize !== undefined && size !== expectedSize) throw sizeChanged(key, expectedSize, String(size));
      // The client may have gone while the file was opened: close it here rather than hand out a dead stream.
      signal?.throwIfAborted();
      if (opts.end !== undefined && opts.end < (opts.start ?? 0)) {
        // No bytes wanted (an empty file's range): createReadStream refuses end < start.
        await fh.close();
        return Readable.from([]);
      }
      return fileReadStream(fh, { start: opts.start, end: opts.end }, READ_CHUNK, signal);
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  async readSlice(key: string, opts: ReadOptions & { start: number; end: number }): Promise<Readable | Buffer> {
    opts.signal?.throwIfAborted();
    if (opts.end - opts.start + 1 > SMALL_READ) return this.read(key, opts);
    return this.readSmall(key, opts.start, opts.end, opts.expectedSize);
  }

  /**
   * Small slice into memory with the callback fs API: its per-call overhead is 2–3× lower than FileHandle's, which
   * is what bounds files/s on archives of many small files. A whole-file read asks for one byte more than recorded,
   * so a grown or shrunk file is detected without an extra fstat.
   */
  private async readSmall(key: string, start: number, end: number, expectedSize?: number): Promise<Buffer> {
    const fd = await this.openFd(key);
    try {
      const length = Math.max(0, end - start + 1);
      if (expectedSize !== undefined && start === 0 && length === expectedSize) {
        const buffer = Buffer.allocUnsafe(length + 1);
        const got = await readFully(fd, buffer, length + 1, 0);
        if (got !== length) throw sizeChanged(key, expectedSize, got > length ? `> ${length}` : String(got));
        return buffer.subarray(0, length);
      }
      if (expectedSize !== undefined) {
        const { size } = await p<{ size: number }>((cb) => fstat(fd, cb));
        if (size !== expectedSize) throw sizeChanged(key, expectedSize, String(size));
      }
      const buffer = Buffer.allocUnsafe(length);
      // A short read (file truncated meanwhile) is passed on: the archive's exact-length check rejects it.
      return buffer.subarray(0, await readFully(fd, buffer, length, start));
    } finally {
      await p<void>((cb) => close(fd, (err) => cb(err, undefined))).catch(() => {});
    }
  }

  async write(key: string, body: Readable, signal?: AbortSignal): Promise<{ size: number }> {
    // The body may fail while we await the folder; pipeline reports it below (or the destroyed body, if it came first).
    body.on('error', () => {});
    const target = this.full(key);
    try {
      await this.ensureRoot();
      await mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
    } catch (e) {
      body.destroy();
      throw e;
    }
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
    // A prefix that is not a folder ('exports/1' matching 'exports/10/…') walks the parent and filters.
    const folder = prefix.endsWith('/') || prefix === '' ? prefix.replace(/\/$/, '') : path.posix.dirname(prefix);
    for await (const o of this.walk(folder === '.' ? '' : folder)) if (o.key.startsWith(prefix)) yield o;
  }

  private async *walk(keyDir: string): AsyncIterable<StorageObject> {
    let dir: Awaited<ReturnType<typeof opendir>>;
    try {
      dir = await opendir(keyDir ? this.full(keyDir) : this.root);
    } catch {
      return;
    }
    const entries: { name: string; dir: boolean }[] = [];
    for await (const entry of dir) {
      // Temp files of writes in progress are not objects yet.
      if (entry.name.endsWith('.part') && entry.name.startsWith('.')) continue;
      if (entry.isDirectory() || entry.isFile()) entries.push({ name: entry.name, dir: entry.isDirectory() });
    }
    // Sorted like S3's listing (byte order of keys), so both backends list alike.
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const key = keyDir ? `${keyDir}/${entry.name}` : entry.name;
      if (entry.dir) yield* this.walk(key);
      else {
        const s = await stat(this.full(key)).catch(() => null);
        if (s) yield { key, size: s.size };
      }
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

const notFound = (key: string) => (e: unknown) => {
  throw (e as NodeJS.ErrnoException)?.code === 'ENOENT' || (e as NodeJS.ErrnoException)?.code === 'ENOTDIR'
    ? new StorageError('ENOENT', `${key} is not in storage`, { cause: e })
    : e;
};

const openError = (key: string, e: unknown): unknown => {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ELOOP') return new StorageError('ELINK', `${key} is a symbolic link`, { cause: e });
  if (code === 'ENOENT' || code === 'ENOTDIR') return new StorageError('ENOENT', `${key} is not in storage`, { cause: e });
  return e;
};
