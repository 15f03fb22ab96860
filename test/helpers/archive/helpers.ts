import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { ArchiveEntry, OpenData } from '../../../server/domain/archive/entry.js';

export interface TestFile {
  name: string;
  data: Buffer;
  mtime?: number;
  mode?: number;
}

export const entriesOf = (files: readonly TestFile[]): ArchiveEntry[] =>
  files.map((f) => ({
    name: f.name,
    size: f.data.length,
    crc32: crc32(f.data),
    mtime: f.mtime ?? 1_700_000_000,
    ...(f.mode === undefined ? {} : { mode: f.mode }),
  }));

/** In-memory data source; `chunk` splits each slice into pieces of that size to exercise coalescing. */
export const memorySource =
  (files: readonly { data: Buffer }[], chunk = 65536): OpenData =>
  async (i, start, end) => {
    const slice = files[i].data.subarray(start, end + 1);
    const parts: Buffer[] = [];
    for (let k = 0; k < slice.length; k += chunk) parts.push(slice.subarray(k, k + chunk));
    return Readable.from(parts, { objectMode: false });
  };

const ZERO_CHUNK = Buffer.alloc(1 << 20);

/** `length` zero bytes, synthesised on the fly (large-archive tests never touch the disk for data). */
export const zeroStream = (length: number): Readable => {
  let left = length;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, ZERO_CHUNK.length);
      left -= n;
      this.push(n === ZERO_CHUNK.length ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, n));
    },
  });
};

/** CRC-32 of n zero bytes via the running-crc argument of zlib.crc32 on one reused chunk. */
export const crcOfZeros = (n: number): number => {
  let c = 0;
  let left = n;
  while (left > 0) {
    const k = Math.min(left, ZERO_CHUNK.length);
    c = crc32(ZERO_CHUNK.subarray(0, k), c);
    left -= k;
  }
  return c;
};

export const collect = async (s: NodeJS.ReadableStream): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
};

const toolCache = new Map<string, boolean>();
export const hasTool = (name: string): boolean => {
  if (!toolCache.has(name)) {
    toolCache.set(name, spawnSync('sh', ['-c', `command -v ${name}`]).status === 0);
  }
  return toolCache.get(name)!;
};

export const run = (cmd: string, args: string[], input?: Buffer) => {
  const r = spawnSync(cmd, args, {
    input,
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, LC_ALL: 'C.UTF-8', PYTHONIOENCODING: 'utf-8' },
  });
  return {
    status: r.status,
    stdout: r.stdout?.toString('utf8') ?? '',
    stdoutBytes: r.stdout ?? Buffer.alloc(0),
    stderr: r.stderr?.toString('utf8') ?? '',
  };
};

export const python = (script: string, args: string[] = [], input?: Buffer) =>
  run('python3', ['-c', script, ...args], input);

export const tempDir = (): { dir: string; file: (name: string, data?: Buffer) => string; cleanup: () => void } => {
  const dir = mkdtempSync(path.join(tmpdir(), 'archive-test-'));
  return {
    dir,
    file: (name, data) => {
      const p = path.join(dir, name);
      if (data) writeFileSync(p, data);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
};

/** Deterministic pseudo-random bytes (content that isn't all zeros, without depending on Math.random). */
export const bytes = (n: number, seed: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
};

/**
 * Writes an archive to a sparse file: every byte except the given holes (data of all-zero entries), so readers
 * see the real multi-GiB archive while the test writes only KiBs. `range` is the range streamer under test.
 */
export const writeSparse = async (
  path: string,
  totalSize: number,
  holes: [number, number][],
  range: (start: number, endInclusive: number) => NodeJS.ReadableStream,
): Promise<void> => {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, totalSize);
    let pos = 0;
    for (const [from, to] of [...holes, [totalSize, totalSize]]) {
      if (from > pos) {
        for await (const c of range(pos, from - 1)) {
          const b = c as Buffer;
          writeSync(fd, b, 0, b.length, pos);
          pos += b.length;
        }
      }
      pos = to;
    }
  } finally {
    closeSync(fd);
  }
};
