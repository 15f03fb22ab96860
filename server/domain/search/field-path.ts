import { invalidValue } from '../errors.js';
import { SEARCH_LIMITS } from './limits.js';

/**
 * Field path grammar (R-DATA-3). Accepted forms:
 *   `_id` `_objecttype` `_version` `_created_at` `_changed_at`      system fields, mapped to columns
 *   `<objecttype>.<system field>`                                     the same, restricted to that objecttype
 *   `<objecttype>.<segment>[.<segment>…]`                            a (nested) field inside `objects.data`
 * An objecttype matches `[a-z][a-z0-9_]{0,62}` (R-DATA-1) and must be one of the definition's objecttypes unless
 * that list is empty. A segment matches `[A-Za-z_][A-Za-z0-9_-]{0,62}`: no dots, quotes, spaces or other characters
 * that mean something in SQL or jsonpath, so a path that is not plainly a field name is refused with a 400 before any
 * SQL exists. Segments still only ever reach PostgreSQL as bound values (text[] or inside a bound jsonpath).
 */
export const OBJECTTYPE_RE = /^[a-z][a-z0-9_]{0,62}$/;
export const SEGMENT_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

type ColumnType = 'int' | 'text' | 'timestamp';
export type SystemColumn = 'id' | 'objecttype' | 'version' | 'created_at' | 'changed_at';

/** The only identifiers that ever enter SQL text: a fixed allow-list, never derived from input. */
const SYSTEM_FIELDS: Readonly<Record<string, { column: SystemColumn; type: ColumnType }>> = Object.freeze({
  _id: { column: 'id', type: 'int' },
  _objecttype: { column: 'objecttype', type: 'text' },
  _version: { column: 'version', type: 'int' },
  _created_at: { column: 'created_at', type: 'timestamp' },
  _changed_at: { column: 'changed_at', type: 'timestamp' },
});

export type FieldRef =
  /** `objecttype` is set when the condition must also require that objecttype (null: no extra restriction). */
  | { kind: 'column'; column: SystemColumn; type: ColumnType; objecttype: string | null }
  | { kind: 'data'; segments: string[]; objecttype: string | null };

/**
 * Resolves a field path against the definition's objecttypes. `path` names the attribute for errors
 * (e.g. `search.search[2].fields[0]`). The objecttype restriction is dropped when it cannot exclude anything
 * (the definition searches exactly that one objecttype), which keeps the SQL short.
 */
export const parseFieldPath = (raw: string, objecttypes: readonly string[], path: string): FieldRef => {
  const system = Object.hasOwn(SYSTEM_FIELDS, raw) ? SYSTEM_FIELDS[raw] : undefined;
  if (system) return { kind: 'column', column: system.column, type: system.type, objecttype: null };

  const parts = raw.split('.');
  if (parts.length < 2) {
    throw invalidValue(path, 'A field path is `_id` or `<objecttype>.<field>[.<sub>…]`');
  }
  const [objecttype, ...segments] = parts;
  if (!OBJECTTYPE_RE.test(objecttype)) {
    throw invalidValue(path, 'The objecttype in a field path must match [a-z][a-z0-9_]{0,62}');
  }
  if (objecttypes.length > 0 && !objecttypes.includes(objecttype)) {
    throw invalidValue(path, `The field path names objecttype ${objecttype}, which is not in objecttypes`);
  }
  if (segments.length > SEARCH_LIMITS.maxPathSegments) {
    throw invalidValue(path, `A field path has at most ${SEARCH_LIMITS.maxPathSegments} segments after the objecttype`);
  }
  for (const segment of segments) {
    if (!SEGMENT_RE.test(segment)) {
      throw invalidValue(path, 'Each field path segment must match [A-Za-z_][A-Za-z0-9_-]{0,62}');
    }
  }
  const restrict = objecttypes.length === 1 && objecttypes[0] === objecttype ? null : objecttype;
  const sys = segments.length === 1 && Object.hasOwn(SYSTEM_FIELDS, segments[0]) ? SYSTEM_FIELDS[segments[0]] : null;
  if (sys) return { kind: 'column', column: sys.column, type: sys.type, objecttype: restrict };
  return { kind: 'data', segments, objecttype: restrict };
};
