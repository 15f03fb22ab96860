/** Small helpers for walking free JSON values (the `data` of an object). */

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const hasOwn = (object: object, key: string): boolean => Object.hasOwn(object, key);

/**
 * Sets an own enumerable property even for the key `__proto__`: JSON data may contain it, and plain assignment
 * would change the prototype instead of exporting the field.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/**
 * Reads a dotted path; arrays on the way are mapped element-wise (`tags.name` over `[{name}, {name}]` gives the
 * list of names), which is what a user selecting a sub-field of a repeated group expects.
 */
export function getPath(value: unknown, segments: readonly string[], from = 0): unknown {
  if (from === segments.length) return value;
  if (Array.isArray(value)) {
    const found: unknown[] = [];
    for (const element of value) {
      const v = getPath(element, segments, from);
      if (v !== undefined) found.push(v);
    }
    return found.length > 0 ? found : undefined;
  }
  if (isPlainObject(value) && hasOwn(value, segments[from])) return getPath(value[segments[from]], segments, from + 1);
  return undefined;
}

/**
 * Like getPath, but keeps the surrounding structure: `meta.width` over `{meta: {width, height}}` gives
 * `{meta: {width}}`. Used for selected fields without a display_name, so the output keeps the object's shape.
 */
export function projectPath(value: unknown, segments: readonly string[], from = 0): unknown {
  if (from === segments.length) return value;
  if (Array.isArray(value)) {
    // Object elements without the key stay as `{}` so that two projections of one array still line up by index.
    const kept: unknown[] = [];
    let found = false;
    for (const element of value) {
      const v = projectPath(element, segments, from);
      if (v !== undefined) found = true;
      if (v !== undefined || isPlainObject(element)) kept.push(v ?? {});
    }
    return found ? kept : undefined;
  }
  if (!isPlainObject(value) || !hasOwn(value, segments[from])) return undefined;
  const inner = projectPath(value[segments[from]], segments, from + 1);
  if (inner === undefined) return undefined;
  const out: Record<string, unknown> = {};
  setOwn(out, segments[from], inner);
  return out;
}

/**
 * Merges two projections of the same source (`meta.width` and `meta.height`). Arrays merge element-wise because
 * both projections came from the same array and keep object elements in place (see projectPath).
 */
export function mergeProjections(a: unknown, b: unknown): unknown {
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const key of Object.keys(b)) setOwn(out, key, hasOwn(out, key) ? mergeProjections(out[key], b[key]) : b[key]);
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: unknown[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      out.push(i >= a.length ? b[i] : i >= b.length ? a[i] : mergeProjections(a[i], b[i]));
    }
    return out;
  }
  return b;
}
