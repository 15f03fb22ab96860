// Root hooks for every test file: shared set-up that must run once (see test/helpers/db.ts for the database).
export const mochaHooks = {};
