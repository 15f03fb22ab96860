import { apiError, invalidValue } from '../errors.js';
import { TEXT_RULE, textProblem } from '../text.js';
import { OBJECTTYPE_RE, SEGMENT_RE } from '../search/field-path.js';

/** Most objects one `PUT /api/v1/db/<objecttype>` may carry (one transaction). */
const MAX_OBJECTS_PER_REQUEST = 1000;
/** Nesting depth of a field value; deeper documents are refused (they could not be searched or flattened sensibly). */
const MAX_FIELD_DEPTH = 32;

/** System attributes of an object: `_id`/`_version` address it, the others are server-managed and ignored on input. */
const READ_ONLY = new Set(['_objecttype', '_created_at', '_changed_at']);

export interface ObjectInput {
  /** Position in the request, for error paths. */
  index: number;
  id: number | null;
  version: number | null;
  data: Record<string, unknown>;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `<objecttype>` of the route: `[a-z][a-z0-9_]{0,62}` (R-DATA-1). */
export function checkObjecttype(raw: string | undefined, path = 'objecttype'): string {
  if (!raw || !OBJECTTYPE_RE.test(raw)) throw invalidValue(path, 'An object type must match [a-z][a-z0-9_]{0,62}');
  return raw;
}

/** A positive integer id from a route parameter; anything else is malformed input. */
export function parseObjectId(raw: string | undefined, path = 'id'): number {
  if (!/^[1-9]\d{0,15}$/.test(raw ?? '')) throw invalidValue(path, 'An id must be a positive integer');
  return Number(raw);
}

/**
 * Every key at every depth must be a search field segment (`[A-Za-z_][A-Za-z0-9_-]{0,62}`), so everything that is
 * stored can also be searched and named in `fields`; strings must be valid text (PostgreSQL's jsonb refuses NUL).
 * Iterative, so a hostile document cannot overflow the stack before its depth is checked.
 */
function checkFieldValue(value: unknown, basePath: string): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: basePath, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!;
    if (depth > MAX_FIELD_DEPTH) throw invalidValue(path, `Field values nest at most ${MAX_FIELD_DEPTH} levels deep`);
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) throw invalidValue(path, `Strings ${TEXT_RULE}: this one ${problem}`);
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalidValue(path, 'Numbers must be finite');
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => {
        stack.push({ value: item, path: `${path}[${i}]`, depth: depth + 1 });
      });
    } else if (isPlainObject(v)) {
      for (const [key, item] of Object.entries(v)) {
        if (!SEGMENT_RE.test(key)) {
          throw invalidValue(`${path}.${key}`, 'Field names must match [A-Za-z_][A-Za-z0-9_-]{0,62}');
        }
        stack.push({ value: item, path: `${path}.${key}`, depth: depth + 1 });
      }
    }
  }
}

/**
 * OBJECT_MAX_BYTES: one object's fields as compact JSON text. A run holds whole objects in memory (one batch, and
 * a bigger object alone), so this is what bounds a run's memory per object; 400 naming the object beyond it.
 */
function checkObjectSize(data: Record<string, unknown>, path: string, maxBytes: number): void {
  if (!Number.isFinite(maxBytes)) return;
  const size = Buffer.byteLength(JSON.stringify(data), 'utf8');
  if (size > maxBytes) {
    throw invalidValue(path, `An object may hold at most ${maxBytes} bytes of JSON; this one has ${size}`, { limit: maxBytes, size });
  }
}

const positiveInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Validates the body of `PUT /api/v1/db/<objecttype>`: an array of `{"_objecttype": t, t: {…}}` with `t` equal to the
 * route's object type. `_id` (update) and `_version` are taken out of the fields; `_objecttype`, `_created_at` and
 * `_changed_at` inside are read-only and ignored, so a stored object never has a field named like a system attribute.
 */
export function parseObjectsBody(body: unknown, objecttype: string, maxObjectBytes = Number.POSITIVE_INFINITY): ObjectInput[] {
  if (!Array.isArray(body)) throw apiError('type_mismatch', 'The body must be a JSON array of objects', { path: '' });
  if (body.length > MAX_OBJECTS_PER_REQUEST) {
    throw invalidValue('', `At most ${MAX_OBJECTS_PER_REQUEST} objects per request`);
  }
  return body.map((item, index) => {
    const at = `[${index}]`;
    if (!isPlainObject(item)) throw apiError('type_mismatch', `${at} must be an object`, { path: at });
    for (const key of Object.keys(item)) {
      if (key !== '_objecttype' && key !== objecttype) {
        throw apiError('attribute_not_accepted', `Attribute ${at}.${key} is not accepted`, { path: `${at}.${key}` });
      }
    }
    if (item._objecttype === undefined) {
      throw apiError('attribute_expected', `Attribute ${at}._objecttype is required`, { path: `${at}._objecttype` });
    }
    if (item._objecttype !== objecttype) {
      throw invalidValue(`${at}._objecttype`, `_objecttype must be ${objecttype}, the object type of the URL`);
    }
    const fields = item[objecttype];
    const fieldsPath = `${at}.${objecttype}`;
    if (fields === undefined) throw apiError('attribute_expected', `Attribute ${fieldsPath} is required`, { path: fieldsPath });
    if (!isPlainObject(fields)) throw apiError('type_mismatch', `${fieldsPath} must be an object`, { path: fieldsPath });
    const { _id, _version, ...rest } = fields;
    if (_id !== undefined && _id !== null && !positiveInt(_id)) {
      throw invalidValue(`${fieldsPath}._id`, '_id must be a positive integer');
    }
    if (_version !== undefined && _version !== null && !positiveInt(_version)) {
      throw invalidValue(`${fieldsPath}._version`, '_version must be a positive integer');
    }
    const id = (_id as number | null | undefined) ?? null;
    const version = (_version as number | null | undefined) ?? null;
    if (id !== null && version === null) {
      throw apiError('attribute_expected', `Attribute ${fieldsPath}._version is required to update an object`, {
        path: `${fieldsPath}._version`,
      });
    }
    const data: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(rest)) {
      if (READ_ONLY.has(key)) continue;
      data[key] = value;
    }
    checkFieldValue(data, fieldsPath);
    checkObjectSize(data, fieldsPath, maxObjectBytes);
    return { index, id, version, data };
  });
}
