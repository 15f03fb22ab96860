/**
 * The delivery layout of R-TR-3: `<base>/<export name>/<run timestamp>/<file path>`, files uploaded under a
 * temporary `.name.part` and renamed, `manifest.json` last.
 */
import { posix } from 'node:path';
import type { DeliveryContext, DeliveryFile } from './transport.js';
import { withSuffix } from '../file-names.js';
import { archiveStem } from '../packaging/packaging.js';
import { MANIFEST } from '../runs/manifest.js';
import { TransportError } from './failure.js';

/** `2026-11-22T10-00-00Z`: ISO 8601 UTC without milliseconds, colons replaced because Windows/FTP servers refuse them. */
const runTimestamp = (d: Date): string =>
  d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');

/** The run folder relative to the transport's base path (`''` = login home / bucket root). */
export function runFolder(
  base: string,
  ctx: Pick<DeliveryContext, 'exportName' | 'exportId' | 'runStartedAt'>,
): string {
  // The export name as every archive of the export carries it (packaging.ts): one sanitiser, one byte bound.
  const exportDir = archiveStem(ctx.exportName, ctx.exportId);
  const trimmed = base.replace(/\/+$/, '');
  return posix.join(trimmed === '' ? '.' : trimmed, exportDir, runTimestamp(ctx.runStartedAt)).replace(/^\.\//, '');
}

/** Files in delivery order: everything else first (by path, for reproducible logs), `manifest.json` last. */
export function deliveryOrder(files: readonly DeliveryFile[]): DeliveryFile[] {
  for (const f of files) assertSafeRelative(f.path);
  const isManifest = (f: DeliveryFile) => f.path === MANIFEST;
  return [
    ...files.filter((f) => !isManifest(f)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    ...files.filter(isManifest),
  ];
}

/** Files come from our own storage, but a path that escapes the run folder must never reach a remote server. */
function assertSafeRelative(p: string): void {
  const parts = p.split('/');
  if (
    !p ||
    p.startsWith('/') ||
    p.includes('\\') ||
    p.includes('\u0000') ||
    parts.some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new TransportError(`The file path "${p}" cannot be delivered`);
  }
}

/**
 * `a/b/c.csv` → `a/b/.c.csv.part`: hidden, so watchers that skip dot files never pick up a half-written file.
 * A name too long for the two extra parts is cut (with a hash of it, see withSuffix) to fit 255 bytes.
 */
export function partPath(finalPath: string): string {
  const dir = posix.dirname(finalPath);
  const name = withSuffix(`.${posix.basename(finalPath)}`, '.part');
  return dir === '.' ? name : `${dir}/${name}`;
}

/** Every folder (relative to the run folder) that must exist before the files are written, parents first. */
export function foldersOf(files: readonly DeliveryFile[]): string[] {
  const set = new Set<string>();
  for (const f of files) {
    let dir = posix.dirname(f.path);
    while (dir !== '.' && !set.has(dir)) {
      set.add(dir);
      dir = posix.dirname(dir);
    }
  }
  return [...set].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
}

/** `/a/b/c` → `['/a', '/a/b', '/a/b/c']`: every folder to create, outermost first (servers without `mkdir -p`). */
export function ancestorsOf(base: string): string[] {
  const segments = base.split('/');
  return segments.map((_, i) => segments.slice(0, i + 1).join('/')).filter((p) => p !== '');
}
