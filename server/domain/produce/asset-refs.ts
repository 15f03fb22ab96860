import type { AssetPathLookup } from './types.js';
import { hasOwn, isPlainObject, setOwn } from './values.js';

/** One asset reference found in an object: the field's path inside the object and the asset id. */
export interface AssetRef {
  readonly field: string;
  readonly assetId: number;
}

const isAssetRef = (value: unknown): value is { _id: number } =>
  isPlainObject(value) && Number.isSafeInteger(value._id) && (value._id as number) > 0;

/**
 * Calls `visit` for every asset reference under `segments` (arrays are walked at any depth, because a field holds
 * `[{"_id": n}, …]` and may sit inside a repeated group).
 */
function forEachAssetRef(
  value: unknown,
  segments: readonly string[],
  visit: (ref: { _id: number }) => void,
  from = 0,
): void {
  if (Array.isArray(value)) {
    for (const element of value) forEachAssetRef(element, segments, visit, from);
    return;
  }
  if (from === segments.length) {
    if (isAssetRef(value)) visit(value);
    return;
  }
  if (isPlainObject(value) && hasOwn(value, segments[from])) {
    forEachAssetRef(value[segments[from]], segments, visit, from + 1);
  }
}

/**
 * Returns `value` with `_path` added next to `_id` in every reference whose file was copied. Copy-on-write: the
 * engine's input object is never mutated, and untouched branches are shared, not cloned.
 */
export function attachAssetPaths(
  value: unknown,
  segments: readonly string[],
  pathOf: (assetId: number) => string | undefined,
  from = 0,
): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const next = attachAssetPaths(value[i], segments, pathOf, from);
      if (next !== value[i]) {
        copy ??= value.slice();
        copy[i] = next;
      }
    }
    return copy ?? value;
  }
  if (from === segments.length) {
    if (!isAssetRef(value)) return value;
    const path = pathOf(value._id);
    return path === undefined ? value : { ...value, _path: path };
  }
  if (!isPlainObject(value) || !hasOwn(value, segments[from])) return value;
  const inner = attachAssetPaths(value[segments[from]], segments, pathOf, from + 1);
  if (inner === value[segments[from]]) return value;
  const copy: Record<string, unknown> = { ...value };
  setOwn(copy, segments[from], inner);
  return copy;
}

/** Adapts an engine lookup to one object and field. */
export const lookupFor =
  (lookup: AssetPathLookup, objectId: number, field: string) =>
  (assetId: number): string | undefined =>
    lookup(objectId, field, assetId);

/** Used by the column pass: every reference counts as copied, so `_path` columns are discovered before copying. */
export const EVERY_ASSET_COPIED: AssetPathLookup = () => '?';

export const refsIn = (data: Record<string, unknown>, segments: readonly string[], field: string): AssetRef[] => {
  const refs: AssetRef[] = [];
  forEachAssetRef(data, segments, (ref) => refs.push({ field, assetId: ref._id }));
  return refs;
};
