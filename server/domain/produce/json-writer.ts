import type { Writable } from 'node:stream';
import { PerObjectWriter, type PerObjectOptions } from './per-object-writer.js';
import { ChunkedSink } from './sink.js';
import type { ObjectWriter, OpenFile, ShapedObject } from './types.js';

/**
 * One object as JSON: identity first, then the shaped fields:
 * `{"_id": 1, "_objecttype": "photo", "_version": 2, "_created_at": "…", "_changed_at": "…", "title": "…",
 *   "image": [{"_id": 7, "_path": "files/photo/image/7-a.jpg"}]}`.
 * Built by splicing so the fields are not copied into a new object for every row.
 */
export function objectJson(object: ShapedObject): string {
  const head = `{${JSON.stringify(object.names.id)}:${JSON.stringify(object._id)},${JSON.stringify(
    object.names.objecttype,
  )}:${JSON.stringify(object._objecttype)}`;
  const rest = JSON.stringify(object.fields);
  return rest === '{}' ? `${head}}` : `${head},${rest.slice(1)}`;
}

/** The same object as a plain value (for per-object files and tests). */
const objectValue = (object: ShapedObject): Record<string, unknown> => ({
  [object.names.id]: object._id,
  [object.names.objecttype]: object._objecttype,
  ...object.fields,
});

/**
 * `objects.json`: one JSON array, one object per line (`[\n{…},\n{…}\n]\n`) so line-oriented tools can stream it;
 * `[]\n` when there are no objects. Written incrementally in ~64 KiB chunks with backpressure.
 */
export class JsonArrayWriter implements ObjectWriter {
  private readonly sink: ChunkedSink;
  private count = 0;

  constructor(out: Writable) {
    this.sink = new ChunkedSink(out);
  }

  async write(batch: readonly ShapedObject[]): Promise<void> {
    for (const object of batch) {
      const prefix = this.count === 0 ? '[\n' : ',\n';
      this.count++;
      if (this.sink.add(prefix + objectJson(object))) await this.sink.flush();
    }
  }

  async end(): Promise<void> {
    this.sink.add(this.count === 0 ? '[]\n' : '\n]\n');
    await this.sink.end();
  }
}

/** `json/<objecttype>/<_id>.json`: one pretty-printed (2 spaces) JSON object per file, same shape as in the array. */
export class JsonPerObjectWriter extends PerObjectWriter {
  constructor(open: OpenFile, options: PerObjectOptions = {}) {
    super(open, 'json', (object) => `${JSON.stringify(objectValue(object), null, 2)}\n`, options);
  }
}

export type { PerObjectOptions };
