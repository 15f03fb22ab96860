/**
 * # Output writers (R-DATA-4, R-OUT-1..3)
 *
 * Pure writers: no database, no HTTP. The run engine reads objects in batches through a cursor and hands every
 * writer a Node `Writable` per output file (or an `OpenFile` callback for one-file-per-object output). Every
 * writer buffers at most ~64 KiB and awaits 'drain', so memory does not depend on the export's size.
 *
 * ## How the engine drives them
 * ```ts
 * const shaper = new ObjectShaper({ fields, eas_fields });       // selection, display_name, `_path` (all formats)
 * const collector = new ColumnCollector(shaper);                  // CSV only: pass 1, column names + emptiness
 * for await (const batch of cursor()) collector.add(batch);
 * const csv = new CsvWriter(openOut('objects.csv'), { columns: collector.columns(), csv: exp.csv });
 * const namer = new AssetNamer({ flat, filename_original, filename_template, exportName: exp.name });
 * for await (const batch of cursor()) {                           // pass 2, same snapshot
 *   // for each object: shaper.assetRefs(o) → namer.name({...}) → copy when isNew → remember the path
 *   const shaped = batch.map((o) => shaper.shape(o, lookup));     // lookup(objectId, field, assetId) → path
 *   await csv.write(shaped); await json.write(shaped); await xml.write(shaped);
 * }
 * await csv.end(); await json.end(); await xml.end();
 * ```
 *
 * ## Output shapes
 * - **Object fields** (all formats): `_id`, `_objecttype`, `_version`, `_created_at`, `_changed_at`, then the
 *   object's fields. With `fields` set: `_id` and `_objecttype` always, the other three only when listed, and only
 *   the listed field paths (`<objecttype>.<field>[.<sub>…]`); a path without display_name keeps the object's
 *   nesting (`photo.meta.width` → `{"meta": {"width": 3}}`), a display_name puts the value at the top under that
 *   name. A field named like a system attribute is not exported (the system attribute wins).
 * - **Asset references** of `eas_fields` with `files: true`: `{"_id": 7}` becomes
 *   `{"_id": 7, "_path": "files/photo/image/7-sunset.jpg"}` when the file was copied (R-OUT-2).
 * - **`objects.json`**: a JSON array, one object per line; `[]` when empty.
 *   **`json/<objecttype>/<_id>.json`**: the same object, pretty-printed.
 * - **`objects.csv`**: optional BOM, header row, CRLF line ends, RFC 4180 quoting with the configured delimiter,
 *   quote and escape. Nested fields become dotted columns (`meta.width`); arrays are one cell with one line per
 *   element; arrays of objects give one column per sub-field (`image._id`, `image._path`) whose lines line up by
 *   element. Columns: identity and system attributes first, then grouped by top-level field in `fields` order (or
 *   by name), by name inside a group. `empty_columns: false` drops columns empty in every row.
 * - **`objects.xml`**: `<objects>` root, `<object id=".." objecttype="..">` per object, one child element per field
 *   (`<field name="..">` when the name is not a valid XML name), arrays as repeated `<item>` children, non-string
 *   values with `type="number|boolean|null|object|array"`, characters invalid in XML 1.0 removed.
 *   **`xml/<objecttype>/<_id>.xml`**: a document whose root is that `<object>` element.
 * - **Asset files**: `files/<objecttype>/<field>/<asset id>-<original filename>`, `files/<…>` with `flat`, the
 *   original filename with `filename_original`, or `filename_template`; collisions get ` (2)`, ` (3)` before the
 *   extension; every name is made safe (see `safeNameComponent`).
 */
export {
  AssetNamer,
  type AssetFile,
  MAX_COMPONENT_BYTES,
  MAX_NAME_BYTES,
  safeNameComponent,
  splitExtension,
} from './asset-names.js';
export {
  CsvWriter,
  csvCellEncoder,
  resolveCsvOptions,
} from './csv-writer.js';
export {
  ObjectShaper,
  parseFieldPath,
  type ShaperOptions,
} from './field-select.js';
export { ColumnCollector, flattenFields } from './flatten.js';
export { JsonArrayWriter, JsonPerObjectWriter, objectJson } from './json-writer.js';
export type {
  AssetPathLookup,
  CsvOptions,
  ExportedObject,
} from './types.js';
export {
  isPlainElementName,
  removeInvalidXmlChars,
  XmlFileWriter,
  XmlPerObjectWriter,
} from './xml-writer.js';
