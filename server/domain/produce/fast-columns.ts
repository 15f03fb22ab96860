import type { ObjectShaper } from './field-select.js';
import { ColumnCollector, type CsvColumn } from './flatten.js';
import type { RawObjectRow } from './object-source.js';

// A JSON string (keys and values alike) or a number outside strings, in PostgreSQL's jsonb text output.
const TOKEN = /"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*/g;
const COLON = 58;
const QUOTE = 34;
/** Distinct shapes remembered; hostile data with a new shape per row just clears the memo now and then. */
const MEMO_LIMIT = 20_000;

/**
 * What the CSV column pass depends on, as text: keys, nesting, array lengths, which strings are empty, and which
 * numbers could be asset ids. Values are replaced by stand-ins with the same effect on the columns: a non-empty
 * string → "x", a positive safe integer → 1 (an `_id` of an asset reference stays one), any other number → 0.5.
 */
export function shapeSignature(data: string): string {
  return data.replace(TOKEN, (token: string, offset: number, whole: string) => {
    if (token.charCodeAt(0) === QUOTE) {
      if (whole.charCodeAt(offset + token.length) === COLON) return token;
      return token.length === 2 ? '""' : '"x"';
    }
    const n = Number(token);
    return Number.isSafeInteger(n) && n > 0 ? '1' : '0.5';
  });
}

/**
 * The CSV column pass (ColumnCollector) over raw rows, without parsing and shaping every object: most exports hold
 * objects of a few shapes, so each distinct shape signature is shaped and flattened once. Gives exactly the columns
 * and emptiness flags of feeding every object to ColumnCollector.
 */
export class FastColumnCollector {
  private readonly collector: ColumnCollector;
  private readonly seen = new Set<string>();

  constructor(shaper: ObjectShaper) {
    this.collector = new ColumnCollector(shaper);
  }

  /** Rows need `objecttype` and `data` only. */
  addRows(rows: readonly Pick<RawObjectRow, 'objecttype' | 'data'>[]): void {
    for (const row of rows) {
      const signature = shapeSignature(row.data);
      const key = `${row.objecttype}\u0000${signature}`;
      if (this.seen.has(key)) continue;
      if (this.seen.size >= MEMO_LIMIT) this.seen.clear();
      this.seen.add(key);
      this.collector.add([
        {
          _id: 1,
          _objecttype: row.objecttype,
          // Always non-empty in real rows: stand-ins with the same effect on the columns.
          _version: 1,
          _created_at: 'x',
          _changed_at: 'x',
          data: JSON.parse(signature) as Record<string, unknown>,
        },
      ]);
    }
  }

  columns(): CsvColumn[] {
    return this.collector.columns();
  }
}
