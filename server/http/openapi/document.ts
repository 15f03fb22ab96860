import { componentSchemas, securitySchemes } from './components.js';
import { exportPaths } from './export-paths.js';
import { filePaths } from './file-paths.js';
import type { Json } from './operations.js';
import { dataPaths, documentPaths, servicePaths, sessionPaths } from './other-paths.js';
import { pageExportPaths, schedulePaths } from './page-paths.js';

/** R-FILE-9: the seed prints a doubled prefix; exports, their files and this document answer under both. */
export const API_PREFIXES = ['/api/v1', '/api/v1/v1'] as const;

let cached: Json | undefined;

/** The OpenAPI 3.1 description of every route, built once from the zod schemas (components.ts). */
export function openApiDocument(): Json {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'Export Manager API',
      version: '1',
      description:
        'Saved exports of a user’s objects and files: runs, archives, schedules and transports. Every error is a JSON ' +
        'object {realm, code, description, parameters} (uuid on 5xx), except on browser-facing file routes, which ' +
        'redirect to the front end with the error key in the fragment.',
    },
    tags: ['session', 'exports', 'files', 'data', 'service'].map((name) => ({ name })),
    paths: {
      ...sessionPaths,
      ...Object.assign(
        {},
        ...API_PREFIXES.map((p) => ({
          ...exportPaths(`${p}/export`),
          ...filePaths(`${p}/export`),
          ...pageExportPaths(`${p}/export`),
          ...schedulePaths(p),
        })),
      ),
      ...dataPaths,
      ...servicePaths,
      ...documentPaths([...API_PREFIXES]),
    },
    components: { schemas: componentSchemas(), securitySchemes },
  };
  return cached;
}
