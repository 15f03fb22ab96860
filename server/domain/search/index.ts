// Public surface of the search domain (R-DATA-3); other modules import from here.
export { parseFieldPath, type FieldRef, OBJECTTYPE_RE, SEGMENT_RE } from './field-path.js';
export { SEARCH_LIMITS } from './limits.js';
export { parseSearchDefinition } from './parse.js';
export { buildSearchQuery, countSearch, searchPage, OBJECT_COLUMNS, type ObjectRow, type Page } from './query.js';
export { resolveSearch, type ResolvedSearch } from './resolve.js';
export type { SearchDefinition, SearchElement, SortEntry } from './schema.js';
export { applySearchFilter, applySearchOrder, compileSearchOrder, compileSearchWhere, DOC_TSVECTOR } from './to-sql.js';
