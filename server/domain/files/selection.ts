import path from 'node:path/posix';
import { fileNameFromText } from '../file-names.js';
import { fileNotFound } from './browser-errors.js';

/** What selection needs of a published file (`_files` row). */
export interface SelectableFile {
  path: string;
  size: number;
  crc32: number;
  mtime: number;
}

/**
 * `zip[/<path>]` (R-FILE-2): the whole export ('' = root), one folder or one file.
 * Entry names are relative to the selected folder (`zip/photos` of `photos/2024/a.jpg` holds `2024/a.jpg`);
 * a single file is stored under its own leaf name. Order is `_files` order. Folders themselves get no entries
 * (empty folders don't exist in `_files`). Unknown path → 404 `not_found` type `file`.
 */
export const selectTree = <F extends SelectableFile>(files: readonly F[], rel: string): { file: F; name: string }[] => {
  if (rel === '') return files.map((f) => ({ file: f, name: f.path }));
  const single = files.find((f) => f.path === rel);
  if (single) return [{ file: single, name: path.basename(rel) }];
  const folder = `${rel}/`;
  const out: { file: F; name: string }[] = [];
  for (const f of files) if (f.path.startsWith(folder)) out.push({ file: f, name: f.path.slice(folder.length) });
  if (out.length === 0) throw fileNotFound(rel);
  return out;
};

/**
 * R-FILE-1: `filename` replaces the base name and the extension of the served file is kept automatically
 * (`report` for `objects.csv` → `report.csv`; `report.csv` stays). Without `filename` the file's own leaf name.
 */
export const fileDownloadName = (filePath: string, requested: string | undefined): string => {
  const leaf = path.basename(filePath);
  const ext = path.extname(leaf);
  const wanted = requested === undefined ? '' : fileNameFromText(requested, ext);
  if (!wanted) return leaf;
  return ext && !wanted.toLowerCase().endsWith(ext.toLowerCase()) ? `${wanted}${ext}` : wanted;
};
