import { EVERY_ASSET_COPIED } from './asset-refs.js';
import type { ObjectShaper } from './field-select.js';
import type { ExportedObject, ShapedObject } from './types.js';

/**
 * Flattening for CSV (R-OUT-3), chosen for a spreadsheet user:
 * - nested objects become dotted columns: `{meta: {width: 3}}` → `meta.width` = `3`;
 * - arrays of scalars are joined with `\n` into one cell: `tags` = `a\nb` (one line per element);
 * - arrays of objects get one column per sub-field, each cell joined with `\n`, one line per element, with an empty
 *   line where an element lacks that sub-field, so line k of every `image.*` cell describes element k:
 *   `image: [{_id: 1, _path: "files/a.jpg"}, {_id: 2}]` → `image._id` = `1\n2`, `image._path` = `files/a.jpg\n`.
 *   No indexed columns (`tags.0.name`): their number would depend on the longest array in the export;
 * - null, empty strings, empty arrays and empty objects give an empty cell; booleans `true`/`false`; numbers as in
 *   JSON. Arrays nested directly in arrays are joined depth-first (line alignment only holds one level deep);
 * - two sources of the same column in one object (a key `a.b` next to `a: {b}`) are joined with `\n`.
 */
export type EmitCell = (column: string, text: string) => void;

function scalarText(value: unknown): string | null {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return '';
    default:
      return value === null ? '' : null;
  }
}

export function flattenValue(value: unknown, column: string, emit: EmitCell): void {
  const text = scalarText(value);
  if (text !== null) {
    emit(column, text);
  } else if (Array.isArray(value)) {
    flattenArray(value, column, emit);
  } else if (typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (keys.length === 0) emit(column, '');
    for (const key of keys) flattenValue(object[key], `${column}.${key}`, emit);
  } else {
    emit(column, '');
  }
}

function flattenArray(array: readonly unknown[], column: string, emit: EmitCell): void {
  if (array.length === 0) {
    emit(column, '');
    return;
  }
  let joined = '';
  let allScalars = true;
  for (let i = 0; i < array.length && allScalars; i++) {
    const text = scalarText(array[i]);
    if (text === null) allScalars = false;
    else joined = i === 0 ? text : `${joined}\n${text}`;
  }
  if (allScalars) {
    emit(column, joined);
    return;
  }
  // One list of lines per sub-column, padded with '' so line i always belongs to element i.
  const lines = new Map<string, string[]>();
  for (let i = 0; i < array.length; i++) {
    flattenValue(array[i], column, (sub, text) => {
      let list = lines.get(sub);
      if (list === undefined) {
        list = [];
        lines.set(sub, list);
      }
      while (list.length < i) list.push('');
      if (list.length === i) list.push(text);
      else list[i] = `${list[i]}\n${text}`;
    });
  }
  for (const [sub, list] of lines) {
    while (list.length < array.length) list.push('');
    emit(sub, list.join('\n'));
  }
}

/** The cells of one shaped object except the identity; column name → text. */
export function flattenFields(fields: Record<string, unknown>): Map<string, string> {
  const row = new Map<string, string>();
  const emit: EmitCell = (column, text) => {
    const previous = row.get(column);
    row.set(column, previous === undefined ? text : `${previous}\n${text}`);
  };
  for (const key of Object.keys(fields)) flattenValue(fields[key], key, emit);
  return row;
}

export interface CsvColumn {
  readonly name: string;
  readonly source: 'id' | 'objecttype' | 'field';
  /** True when no row had a non-empty cell (never for the identity columns). */
  readonly empty: boolean;
}

interface Seen {
  readonly group: string;
  filled: boolean;
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * First pass for CSV: a header must precede the rows, so the engine feeds every object here once (flatten only, no
 * string building, memory proportional to the number of distinct columns), then creates the CsvWriter with
 * `columns()`, then feeds the objects again. Both passes should read the same snapshot (one REPEATABLE READ
 * transaction); columns that appear only in the second pass are not written.
 *
 * Column order: `_id`, `_objecttype` (as renamed), `_version`, `_created_at`, `_changed_at` (those exported), then
 * data columns grouped by top-level field, groups in `fields` order when a selection is set, otherwise by name;
 * inside a group by name. Sorting by code units, not first-seen order, keeps the header independent of row order and
 * of PostgreSQL's jsonb key order (shortest key first), and keeps `meta.*` columns next to each other.
 */
export class ColumnCollector {
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly shaper: ObjectShaper) {}

  add(batch: readonly ExportedObject[]): void {
    for (const object of batch) this.addShaped(this.shaper.shape(object, EVERY_ASSET_COPIED));
  }

  /** For callers that already shaped the object; pass `_path` placeholders so asset path columns are discovered. */
  addShaped(shaped: ShapedObject): void {
    const { fields } = shaped;
    for (const group of Object.keys(fields)) {
      flattenValue(fields[group], group, (column, text) => {
        const entry = this.seen.get(column);
        if (entry === undefined) this.seen.set(column, { group, filled: text !== '' });
        else if (!entry.filled && text !== '') entry.filled = true;
      });
    }
  }

  columns(): CsvColumn[] {
    const { names } = this.shaper;
    const system = this.shaper.systemNames;
    const result: CsvColumn[] = [
      { name: names.id, source: 'id', empty: false },
      { name: names.objecttype, source: 'objecttype', empty: false },
      ...system.map((name) => ({ name, source: 'field' as const, empty: !this.seen.get(name)?.filled })),
    ];
    const systemSet = new Set(system);
    const data = [...this.seen].filter(([name]) => !systemSet.has(name));
    data.sort(
      ([nameA, a], [nameB, b]) =>
        this.shaper.groupRank(a.group) - this.shaper.groupRank(b.group) ||
        byCodeUnits(a.group, b.group) ||
        byCodeUnits(nameA, nameB),
    );
    for (const [name, entry] of data) result.push({ name, source: 'field', empty: !entry.filled });
    return result;
  }
}
