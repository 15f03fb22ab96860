import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * Coalesces many small strings into ~64 KiB writes. One `write()` per row would cost a stream round trip per row
 * (the dominant cost at a million rows); one per batch would make memory depend on the batch size.
 */
const CHUNK_CHARS = 64 * 1024;
/**
 * A buffer longer than this (one huge value: objects may hold up to OBJECT_MAX_BYTES) is written in slices of it,
 * waiting for drain in between: written whole, the stream would hold its full UTF-8 copy until the disk took it
 * (a 10 MB XML-escaped text was 30 MB of string plus 30 MB of Buffer).
 */
export const SLICE_CHARS = 1024 * 1024;

export class ChunkedSink {
  private buffer = '';

  constructor(
    private readonly out: Writable,
    private readonly chunkChars = CHUNK_CHARS,
  ) {
    // A stream error between two writes would otherwise be an unhandled 'error' event that kills the process;
    // `out.errored` keeps it, and the next flush or end rejects with it.
    out.on('error', () => {});
  }

  /** Appends text; true means the caller should `await flush()` now (kept synchronous so rows cost no await). */
  add(text: string): boolean {
    this.buffer += text;
    return this.buffer.length >= this.chunkChars;
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const chunk = this.buffer;
    this.buffer = '';
    for (let start = 0; start < chunk.length; ) {
      let end = Math.min(chunk.length, start + SLICE_CHARS);
      // Never between the two halves of a surrogate pair: each slice is encoded to UTF-8 on its own.
      if (end < chunk.length && isHighSurrogate(chunk.charCodeAt(end - 1))) end--;
      assertWritable(this.out);
      const slice = start === 0 && end === chunk.length ? chunk : chunk.slice(start, end);
      if (!this.out.write(slice, 'utf8')) await waitForDrain(this.out);
      start = end;
    }
  }

  /** Flushes, ends the stream and resolves once it has finished (or rejects with its error). */
  async end(): Promise<void> {
    await this.flush();
    assertWritable(this.out);
    this.out.end();
    await finished(this.out, { readable: false });
  }
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

function assertWritable(out: Writable): void {
  if (out.errored) throw out.errored;
  if (out.destroyed || out.writableEnded) throw new Error('output stream was closed before the export finished');
}

/**
 * Waits for 'drain', but also settles on 'error' and 'close': an engine that destroys the stream on stop must not
 * leave the writer waiting forever.
 */
function waitForDrain(out: Writable): Promise<void> {
  if (!out.writableNeedDrain) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      out.off('drain', onDrain);
      out.off('error', onError);
      out.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(out.errored ?? new Error('output stream was closed before the export finished'));
    };
    out.on('drain', onDrain);
    out.on('error', onError);
    out.on('close', onClose);
  });
}

/** Writes a whole small document to a freshly opened file and waits until it is flushed. */
export async function writeWholeFile(out: Writable, content: string): Promise<void> {
  out.end(content, 'utf8');
  await finished(out, { readable: false });
}

/**
 * Runs at most `limit` file writes at once: per-object files are small, and a storage backend with latency (S3)
 * would otherwise serialize on round trips. The first failure is rethrown by the next `run` or by `drain`.
 */
export class BoundedTasks {
  private readonly inFlight = new Set<Promise<void>>();
  private failed = false;
  private failure: unknown;

  constructor(private readonly limit: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.limit) {
      await Promise.race(this.inFlight);
      this.throwIfFailed();
    }
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        if (!this.failed) {
          this.failed = true;
          this.failure = error;
        }
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failure;
  }
}
