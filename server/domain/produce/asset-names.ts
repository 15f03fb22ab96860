import { cleanFileName, cutName, MAX_COMPONENT_BYTES, MAX_NAME_BYTES, utf8Bytes } from '../file-names.js';
import { getPath, isPlainObject } from './values.js';

export { MAX_COMPONENT_BYTES, MAX_NAME_BYTES };
/** Longer "extensions" are treated as part of the name, so truncation never eats the whole name. */
const MAX_EXTENSION_BYTES = 32;

/** `photo.final.JPG` → stem `photo.final`, ext `.JPG`; a leading dot or an overlong tail is no extension. */
export function splitExtension(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return { stem: name, ext: '' };
  const ext = name.slice(dot);
  if (utf8Bytes(ext) > MAX_EXTENSION_BYTES || /\s/.test(ext)) return { stem: name, ext: '' };
  return { stem: name.slice(0, dot), ext };
}

/**
 * One path component safe on every platform an export is unpacked on (R-OUT-1): the one sanitiser of file-names.ts
 * (cleanFileName), `fallback` when nothing is left, at most MAX_NAME_BYTES (255 less room for later suffixes such as
 * a transport's `.name.part`), cut by characters and keeping the extension.
 */
export function safeNameComponent(raw: string, fallback = 'unnamed'): string {
  return fitComponent(cleanFileName(raw) || fallback, '');
}

/** `stem + suffix + ext` within the byte limit; the stem is what gets shortened. */
function fitComponent(name: string, suffix: string): string {
  const { stem, ext } = splitExtension(name);
  const room = MAX_NAME_BYTES - utf8Bytes(ext) - utf8Bytes(suffix);
  const cut = cutName(stem, room) || '_';
  return cut + suffix + ext;
}

export interface AssetNamerOptions {
  readonly flat?: boolean | null;
  readonly filename_original?: boolean | null;
  readonly filename_template?: string | null;
  /** The export's name, for `%_export.name%`. */
  readonly exportName?: string;
}

export interface AssetFile {
  readonly objecttype: string;
  /** The asset field's path inside the object: `image`, `meta.scan`. */
  readonly field: string;
  readonly objectId: number;
  readonly assetId: number;
  readonly originalFilename: string;
  /** The object's data, for `%<objecttype>.<field>%` placeholders. */
  readonly data?: Record<string, unknown>;
}

export interface AssetName {
  /** Relative to the export root, always under `files/`. */
  readonly path: string;
  /** False when this asset already got this very path earlier in the run: copy it only once. */
  readonly isNew: boolean;
}

/**
 * Names copied asset files for one run (R-OUT-1). Folder: `files/<objecttype>/<field>/`, or `files/` with `flat`.
 * Name: `<asset id>-<original filename>` by default; the original filename with `filename_original`;
 * `filename_template` otherwise wins over both. Collisions (a different asset, same name, same folder; compared
 * case-sensitively) get ` (2)`, ` (3)`, … before the extension. The same asset asking for the same name again gets
 * the same path with `isNew: false`. Deterministic for the same sequence of calls.
 * Memory grows with the number of distinct files in the run (a few hundred bytes each).
 */
export class AssetNamer {
  private readonly owners = new Map<string, number>();
  private readonly byAsset = new Map<string, string>();
  private readonly nextSuffix = new Map<string, number>();

  constructor(private readonly options: AssetNamerOptions = {}) {}

  name(file: AssetFile): AssetName {
    const folder = this.options.flat
      ? 'files'
      : `files/${safeNameComponent(file.objecttype)}/${safeNameComponent(file.field)}`;
    const base = safeNameComponent(this.baseName(file), String(file.assetId));
    const wanted = `${folder}/${base}`;
    const memoKey = `${file.assetId}\u0000${wanted}`;
    const known = this.byAsset.get(memoKey);
    if (known !== undefined) return { path: known, isNew: false };
    let n = this.nextSuffix.get(wanted) ?? 1;
    for (; ; n++) {
      const candidate = n === 1 ? wanted : `${folder}/${fitComponent(base, ` (${n})`)}`;
      if (!this.owners.has(candidate)) {
        this.owners.set(candidate, file.assetId);
        this.byAsset.set(memoKey, candidate);
        this.nextSuffix.set(wanted, n + 1);
        return { path: candidate, isNew: true };
      }
    }
  }

  private baseName(file: AssetFile): string {
    const template = this.options.filename_template;
    if (template) return renderTemplate(template, file, this.options.exportName ?? '');
    const original = safeNameComponent(file.originalFilename, 'file');
    return this.options.filename_original ? original : `${file.assetId}-${original}`;
  }
}

/**
 * `filename_template` placeholders: `%_id%` (object id), `%_asset.original_filename%`, `%_asset.extension%` (without
 * the dot), `%_export.name%`, `%<objecttype>.<field>[.<sub>…]%` (a value of the object; arrays joined with `,`;
 * objects and other object types give ''), `%%` for a literal `%`. Unknown placeholders stay as written, so a
 * typo is visible in the file names. The result is one name component (`/` from values or the template becomes
 * `_`); when the template uses neither the original filename nor the extension, the original extension is appended.
 */
function renderTemplate(template: string, file: AssetFile, exportName: string): string {
  const ext = splitExtension(safeNameComponent(file.originalFilename, 'file')).ext;
  let usesExtension = false;
  const rendered = template.replace(/%([^%]*)%/g, (whole, name: string) => {
    switch (name) {
      case '':
        return '%';
      case '_id':
        return String(file.objectId);
      case '_asset.original_filename':
        usesExtension = true;
        return file.originalFilename;
      case '_asset.extension':
        usesExtension = true;
        return ext.slice(1);
      case '_export.name':
        return exportName;
    }
    const [objecttype, ...segments] = name.split('.');
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(objecttype) || segments.length === 0) return whole;
    if (objecttype !== file.objecttype) return '';
    return placeholderText(getPath(file.data ?? {}, segments));
  });
  return usesExtension || ext === '' ? rendered : rendered + ext;
}

function placeholderText(value: unknown): string {
  if (Array.isArray(value))
    return value
      .map(placeholderText)
      .filter((s) => s !== '')
      .join(',');
  if (value === null || value === undefined || isPlainObject(value)) return '';
  return String(value);
}

/** `json/<objecttype>/<_id>.json` and `xml/…`: the object type is validated upstream, made safe here anyway. */
export const perObjectPath = (folder: string, object: { _id: number; _objecttype: string }, ext: string): string =>
  `${folder}/${safeNameComponent(object._objecttype)}/${object._id}.${ext}`;
