// Public surface of the search domain (R-DATA-3); other modules import from here.
export { parseSearchDefinition } from './parse.js';
export { searchPage } from './query.js';
export type { SearchDefinition } from './schema.js';
export { applySearchFilter, applySearchOrder } from './to-sql.js';
