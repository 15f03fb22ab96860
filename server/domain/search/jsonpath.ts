/**
 * Builds SQL/JSON path texts. They are always sent as bound parameters (`data @? ?::jsonpath`), never spliced into SQL;
 * this module is what keeps them well-formed jsonpath, so user strings cannot change the path's structure either.
 *
 * Why jsonpath at all: `@?` is supported by a GIN `jsonb_path_ops` index and, in lax mode, looks through arrays, so
 * `$."tags"[*] ? (@ == "a")` matches `"tags": "a"` and `"tags": ["a", "b"]`, and `$."image"."_id"[*]` reaches
 * `"image": [{"_id": 5}]` — the "scalar or any element of an array" semantics R-DATA-3 needs, in one indexable test.
 */
export type JsonScalar = string | number | boolean | null;

/**
 * `$."a"."b"[*]`: member accessors with quoted names (JSON string escaping is valid jsonpath escaping), then `[*]`, which
 * in lax mode yields the elements of an array and a non-array value itself.
 */
export const jsonpathAccessor = (segments: readonly string[]): string =>
  '$' + segments.map((s) => '.' + JSON.stringify(s)).join('') + '[*]';

/**
 * A jsonpath literal for a scalar. Strings use JSON.stringify: jsonpath string literals accept every escape it emits
 * (\" \\ \b \f \n \r \t \uXXXX). NUL and lone surrogates are refused by the schema before we get here, because
 * PostgreSQL rejects them. Numbers: JS renders finite numbers as valid jsonpath numerics (`1e+21`, `5e-7`, `-3.5`).
 */
export const jsonpathLiteral = (value: JsonScalar): string => {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('jsonpath numbers must be finite');
    return Object.is(value, -0) ? '0' : String(value);
  }
  return JSON.stringify(value);
};

/** `$."f"[*] ? (@ == v1 || @ == v2)`: equality is type-aware (5 never equals "5"). */
export const jsonpathIn = (segments: readonly string[], values: readonly JsonScalar[]): string =>
  `${jsonpathAccessor(segments)} ? (${values.map((v) => `@ == ${jsonpathLiteral(v)}`).join(' || ')})`;

/**
 * A range over the values at a path; one element of an array must satisfy both bounds. Strings compare by code point
 * in jsonpath, which orders ISO 8601 values of one uniform format chronologically. An inclusive string `to` also
 * accepts values that start with it, so `to: "2024-05-01"` includes `"2024-05-01T18:00:00Z"` (the bound's precision).
 */
export const jsonpathRange = (
  segments: readonly string[],
  from: number | string | undefined,
  to: number | string | undefined,
): string => {
  const tests: string[] = [];
  if (from !== undefined) tests.push(`@ >= ${jsonpathLiteral(from)}`);
  if (to !== undefined) {
    const bound = jsonpathLiteral(to);
    tests.push(typeof to === 'string' ? `(@ <= ${bound} || @ starts with ${bound})` : `@ <= ${bound}`);
  }
  return `${jsonpathAccessor(segments)} ? (${tests.join(' && ')})`;
};
