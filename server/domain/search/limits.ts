/**
 * Hard limits on a search definition. A definition arrives from untrusted JSON and becomes one SQL statement, so its
 * size is bounded before anything recursive (zod, the SQL builder) touches it: hostile input gets a 400, not a stack
 * overflow or a multi-megabyte query.
 */
export const SEARCH_LIMITS = Object.freeze({
  /** Levels of elements: top-level elements are level 1, each `complex` adds one. */
  maxDepth: 8,
  /** Elements counted over the whole tree, `complex` elements included. */
  maxElements: 200,
  maxInValues: 1000,
  maxFields: 20,
  maxStringLength: 1000,
  maxObjecttypes: 100,
  maxSort: 10,
  /** Segments after the objecttype in `<objecttype>.<field>[.<sub>…]`. */
  maxPathSegments: 16,
  maxLimit: 1_000_000,
  maxOffset: 1_000_000_000,
});
