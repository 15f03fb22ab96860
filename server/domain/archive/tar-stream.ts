import { pipeline, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { OpenData } from './entry.js';
import { type RangeStreamOptions, type Segments, streamSegmentsRange } from './range-stream.js';
import { type TarLayout, tarHeader, tarPadding } from './tar-layout.js';

const tarSegments = (layout: TarLayout): Segments => ({
  count: layout.count,
  entryStarts: layout.offsets,
  totalSize: layout.totalSize,
  headerLength: (i) => layout.headerLengths[i],
  header: (i) => tarHeader(layout, i),
  dataSize: (i) => layout.entries[i].size,
  paddingLength: (i) => tarPadding(layout.entries[i].size),
  trailer: (from, to) => [Buffer.alloc(to - from)],
  entryName: (i) => layout.entries[i].name,
});

/** Exactly the bytes [start, end] (inclusive) of the TAR described by `layout` (same contract as streamZipRange). */
export const streamTarRange = (
  layout: TarLayout,
  start: number,
  end: number,
  openData: OpenData,
  signal?: AbortSignal,
  options?: RangeStreamOptions,
): Readable => streamSegmentsRange(tarSegments(layout), start, end, openData, signal, options);

export const streamTar = (
  layout: TarLayout,
  openData: OpenData,
  signal?: AbortSignal,
  options?: RangeStreamOptions,
): Readable => streamTarRange(layout, 0, layout.totalSize - 1, openData, signal, options);

/**
 * tar.gz as a plain stream: its length isn't known in advance (no Content-Length, no ranges). Node's gzip header
 * carries no name and mtime 0, so the output is deterministic for a given zlib version and level.
 * Destroying the result destroys the TAR stream and its sources; a TAR error destroys the result.
 */
export const streamTarGz = (
  layout: TarLayout,
  openData: OpenData,
  signal?: AbortSignal,
  options?: RangeStreamOptions & { level?: number },
): Readable => {
  const gzip = createGzip({ level: options?.level ?? 6 });
  // Handed out through awaits before its consumer listens (see streamSegmentsRange): errors must never be unhandled.
  gzip.on('error', () => {});
  pipeline(streamTar(layout, openData, signal, options), gzip, () => {});
  return gzip;
};
