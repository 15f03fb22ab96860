import type { Readable } from 'node:stream';
import type { OpenData } from './entry.js';
import { findEntry, type RangeStreamOptions, type Segments, streamSegmentsRange } from './range-stream.js';
import { centralHeader, endRecords, localHeader, localHeaderLength, type ZipLayout } from './zip-layout.js';

function* zipTrailer(layout: ZipLayout, from: number, to: number): Generator<Buffer> {
  const { count, centralOffsets } = layout;
  const cdEnd = centralOffsets[count];
  let pos = from;
  if (pos < cdEnd) {
    for (let i = findEntry(centralOffsets, count, pos); i < count && pos < to; i++) {
      const base = centralOffsets[i];
      const b = Math.min(centralOffsets[i + 1], to) - base;
      yield centralHeader(layout, i).subarray(pos - base, b);
      pos = base + b;
    }
  }
  if (pos < to) yield endRecords(layout).subarray(pos - cdEnd, to - cdEnd);
}

/** Adapts a ZipLayout to the range engine (exported for tests and for callers that want the raw segments). */
const zipSegments = (layout: ZipLayout): Segments => ({
  count: layout.count,
  entryStarts: layout.localOffsets,
  totalSize: layout.totalSize,
  headerLength: (i) => localHeaderLength(layout, i),
  header: (i) => localHeader(layout, i),
  dataSize: (i) => layout.entries[i].size,
  paddingLength: () => 0,
  trailer: (from, to) => zipTrailer(layout, from, to),
  entryName: (i) => layout.entries[i].name,
});

/**
 * Exactly the bytes [start, end] (inclusive) of the ZIP described by `layout`; only the touched headers are
 * generated and only the covered data slices are opened. Errors (source too short/long, abort) destroy the stream.
 */
export const streamZipRange = (
  layout: ZipLayout,
  start: number,
  end: number,
  openData: OpenData,
  signal?: AbortSignal,
  options?: RangeStreamOptions,
): Readable => streamSegmentsRange(zipSegments(layout), start, end, openData, signal, options);

/** The whole archive (same as streamZipRange(layout, 0, totalSize − 1, …)). */
export const streamZip = (
  layout: ZipLayout,
  openData: OpenData,
  signal?: AbortSignal,
  options?: RangeStreamOptions,
): Readable => streamZipRange(layout, 0, layout.totalSize - 1, openData, signal, options);
