import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

const ignore = () => {};

const abortReason = (signal: AbortSignal): Error =>
  Object.assign(new Error('The read was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });

/**
 * A read stream over an open FileHandle (closed with the stream), safe to hand through any number of awaits.
 *
 * Why not `fh.createReadStream({ signal })`: on abort Node destroys the stream with an AbortError and emits it as
 * 'error' — if that happens before a consumer has attached (the stream still travelling through awaits towards a
 * response or an archive), the event has no listener and takes the process down. So the stream gets a
 * listener the moment it exists; consumers (pipeline, for await, the archive engine) still see every error.
 */
export function fileReadStream(
  fh: FileHandle,
  range: { start?: number; end?: number },
  highWaterMark: number,
  signal?: AbortSignal,
): Readable {
  const stream = fh.createReadStream({ start: range.start, end: range.end, highWaterMark, autoClose: true });
  stream.on('error', ignore);
  if (signal) {
    const abort = () => stream.destroy(abortReason(signal));
    if (signal.aborted) abort();
    else {
      signal.addEventListener('abort', abort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', abort));
    }
  }
  return stream;
}
