import type { Readable } from 'node:stream';
import { serverError } from '../errors.js';
import type { OpenData } from './entry.js';
import { abortError, PullReadable } from './pull-readable.js';

/**
 * Format-independent engine behind streamZipRange / streamTarRange. An archive is seen as N entries, each
 * `header | data | zero padding` at a known offset, followed by a trailer; a byte range is served by generating
 * only the headers it touches and opening only the data slices it covers.
 */
export interface Segments {
  readonly count: number;
  /** Start offset of each entry; [count] = start of the trailer. Strictly increasing (headers are never empty). */
  readonly entryStarts: Float64Array;
  readonly totalSize: number;
  headerLength(i: number): number;
  header(i: number): Buffer;
  dataSize(i: number): number;
  paddingLength(i: number): number;
  /** Bytes [from, to) (absolute offsets inside the trailer), in order. */
  trailer(from: number, to: number): Iterable<Buffer>;
  entryName(i: number): string;
}

export interface RangeStreamOptions {
  /** Small entries are read ahead this many at a time, in parallel, while output stays in order. */
  readAhead?: number;
  /** Entries (slices) up to this size are read ahead into memory; bigger ones are streamed when reached. */
  readAheadMaxBytes?: number;
  /** Budget for the bytes of all read-ahead entries held at once. */
  readAheadBytes?: number;
  /** Output is coalesced into writes of at least this size where that only costs small copies. */
  chunkSize?: number;
}

type Piece = { bytes: Buffer } | { entry: number; start: number; end: number; task?: Promise<Buffer[]> };

/** Index of the last entry starting at or before pos (binary search; entryStarts strictly increasing). */
export const findEntry = (starts: Float64Array, count: number, pos: number): number => {
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
};

function* pieces(seg: Segments, from: number, to: number): Generator<Piece> {
  let pos = from;
  if (pos < seg.entryStarts[seg.count]) {
    for (let i = findEntry(seg.entryStarts, seg.count, pos); i < seg.count && pos < to; i++) {
      const base = seg.entryStarts[i];
      const hl = seg.headerLength(i);
      if (pos < base + hl) {
        const b = Math.min(hl, to - base);
        yield { bytes: seg.header(i).subarray(pos - base, b) };
        pos = base + b;
      }
      const dBase = base + hl;
      const ds = seg.dataSize(i);
      if (pos < to && pos < dBase + ds) {
        const b = Math.min(ds, to - dBase);
        yield { entry: i, start: pos - dBase, end: b - 1 };
        pos = dBase + b;
      }
      const pBase = dBase + ds;
      const pl = seg.paddingLength(i);
      if (pos < to && pos < pBase + pl) {
        const b = Math.min(pl, to - pBase);
        yield { bytes: Buffer.alloc(b - (pos - pBase)) };
        pos = pBase + b;
      }
    }
  }
  if (pos < to) for (const bytes of seg.trailer(pos, to)) yield { bytes };
}

const ignore = () => {};

const sizeError = (seg: Segments, i: number, got: string, expected: number) =>
  serverError(
    'internal_file_error',
    `archive entry ${i} (${seg.entryName(i)}): data source yielded ${got} bytes, expected ${expected}`,
  );

const asBuffer = (c: unknown): Buffer => {
  if (Buffer.isBuffer(c)) return c;
  if (c instanceof Uint8Array) return Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  throw new TypeError('archive data sources must yield bytes, not strings or objects');
};

async function* generate(
  seg: Segments,
  from: number,
  to: number,
  openData: OpenData,
  signal: AbortSignal,
  opts: Required<RangeStreamOptions>,
): AsyncGenerator<Buffer> {
  const open = new Set<Readable>();
  const onAbort = () => {
    for (const s of open) s.destroy(abortError(signal.reason));
  };
  signal.addEventListener('abort', onAbort, { once: true });

  const openTracked = async (i: number, start: number, end: number): Promise<Readable | Buffer> => {
    const s = await openData(i, start, end, signal);
    if (s instanceof Uint8Array) return asBuffer(s);
    // Until checkedStream iterates it, nobody else listens: an abort destroying it now must not be an unhandled error.
    s.on('error', ignore);
    if (signal.aborted) {
      s.destroy();
      throw abortError(signal.reason);
    }
    open.add(s);
    s.once('close', () => open.delete(s));
    return s;
  };

  // Checks the exact count while reading: more or fewer bytes would silently corrupt every later offset.
  async function* checkedStream(i: number, expected: number, s: Readable): AsyncGenerator<Buffer> {
    let got = 0;
    try {
      for await (const c of s) {
        const b = asBuffer(c);
        got += b.length;
        if (got > expected) throw sizeError(seg, i, `more than ${expected}`, expected);
        yield b;
      }
    } finally {
      if (!s.destroyed) s.destroy();
    }
    if (got !== expected) throw sizeError(seg, i, String(got), expected);
  }

  const checkedBuffer = (i: number, expected: number, b: Buffer): Buffer => {
    if (b.length !== expected) throw sizeError(seg, i, String(b.length), expected);
    return b;
  };

  const readWhole = async (i: number, start: number, end: number): Promise<Buffer[]> => {
    const expected = end - start + 1;
    const s = await openTracked(i, start, end);
    if (Buffer.isBuffer(s)) return [checkedBuffer(i, expected, s)];
    const out: Buffer[] = [];
    for await (const b of checkedStream(i, expected, s)) out.push(b);
    return out;
  };

  async function* streamed(i: number, start: number, end: number): AsyncGenerator<Buffer> {
    const expected = end - start + 1;
    const s = await openTracked(i, start, end);
    if (Buffer.isBuffer(s)) yield checkedBuffer(i, expected, s);
    else yield* checkedStream(i, expected, s);
  }

  const it = pieces(seg, from, to);
  const queue: Piece[] = [];
  let head = 0;
  let inFlight = 0; // read-ahead tasks queued and not yet consumed
  let inFlightBytes = 0;
  let held: Piece | undefined; // pulled but over the byte budget: waits for the next fill
  let done = false;
  const fill = () => {
    // Bounded: at most readAhead entries / readAheadBytes buffered, and a few thousand queued pieces (empty files).
    while (inFlight < opts.readAhead && queue.length - head < 4096) {
      let p = held;
      held = undefined;
      if (!p) {
        const r = done ? undefined : it.next();
        if (!r || r.done) {
          done = true;
          break;
        }
        p = r.value;
      }
      if ('entry' in p) {
        const n = p.end - p.start + 1;
        if (n <= opts.readAheadMaxBytes) {
          if (inFlight > 0 && inFlightBytes + n > opts.readAheadBytes) {
            held = p;
            break;
          }
          p.task = readWhole(p.entry, p.start, p.end);
          p.task.catch(() => {}); // observed when consumed; avoids unhandled rejections after an abort
          inFlight++;
          inFlightBytes += n;
        }
      }
      queue.push(p);
    }
  };

  let out: Buffer[] = [];
  let outLength = 0;
  let flowing = false; // something was yielded already
  const take = (): Buffer => {
    flowing = true;
    const b = out.length === 1 ? out[0] : Buffer.concat(out, outLength);
    out = [];
    outLength = 0;
    return b;
  };

  try {
    for (;;) {
      fill();
      if (head === queue.length) break;
      const p = queue[head++];
      if (head > 1024) {
        queue.splice(0, head);
        head = 0;
      }
      if ('bytes' in p) {
        out.push(p.bytes);
        outLength += p.bytes.length;
      } else if (p.task) {
        inFlight--;
        inFlightBytes -= p.end - p.start + 1;
        for (const b of await p.task) {
          out.push(b);
          outLength += b.length;
        }
      } else {
        for await (const b of streamed(p.entry, p.start, p.end)) {
          if (b.length >= opts.chunkSize) {
            if (outLength > 0) yield take();
            yield b;
          } else {
            out.push(b);
            outLength += b.length;
            if (outLength >= opts.chunkSize || !flowing) yield take();
          }
        }
      }
      // Time to first byte: the first output goes as soon as the first data source has been opened, checked and read
      // (an error there still becomes an error response), not once a whole chunk of small entries is read.
      if (outLength >= opts.chunkSize || (!flowing && outLength > 0 && !('bytes' in p))) yield take();
    }
    if (outLength > 0) yield take();
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Pending read-aheads and open sources must not outlive the archive stream.
    for (const s of open) s.destroy();
  }
}

/** Streams exactly the bytes [start, end] (inclusive) of the archive described by `seg`. */
export const streamSegmentsRange = (
  seg: Segments,
  start: number,
  end: number,
  openData: OpenData,
  signal?: AbortSignal,
  options: RangeStreamOptions = {},
): Readable => {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= seg.totalSize) {
    throw new RangeError(`bad archive range ${start}-${end} of ${seg.totalSize}`);
  }
  const opts: Required<RangeStreamOptions> = {
    readAhead: options.readAhead ?? 64,
    readAheadMaxBytes: options.readAheadMaxBytes ?? 256 * 1024,
    readAheadBytes: options.readAheadBytes ?? 4 * 1024 * 1024,
    chunkSize: options.chunkSize ?? 64 * 1024,
  };
  const controller = new AbortController();
  const inner = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
  const stream = new PullReadable(generate(seg, start, end + 1, openData, inner, opts), controller, opts.chunkSize * 4);
  // The caller's signal may abort before the caller has attached its own listeners (the stream is still on its way
  // through awaits): that error must not be unhandled. Consumers (pipeline, for await) still receive it.
  stream.on('error', ignore);
  if (signal) {
    const onAbort = () => stream.destroy(abortError(signal.reason));
    if (signal.aborted) process.nextTick(onAbort);
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return stream;
};
