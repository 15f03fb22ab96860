import { errors, header, idParam, type Json, jsonResponse, PROTECTED, queryParam, ref } from './operations.js';

const session = (summary: string, extra: Json = {}): Json => ({
  tags: ['session'],
  summary,
  responses: { '200': jsonResponse('Session', 'The session'), ...errors(400, 403) },
  ...extra,
});

/** R-AUTH-1..3. */
export const sessionPaths: Record<string, Json> = {
  '/api/v1/session': {
    get: session('Without a token: a new (unauthenticated) session token. With one: that session', {
      security: [{}, ...PROTECTED],
    }),
  },
  '/api/v1/session/authenticate': {
    post: session('Log in with login and password (query, form or JSON body)', {
      security: [{}, ...PROTECTED],
      parameters: ['token', 'login', 'password'].map((n) => queryParam(n, `The ${n}; may come in the body instead`)),
      requestBody: {
        required: false,
        content: {
          'application/json': { schema: ref('Credentials') },
          'application/x-www-form-urlencoded': { schema: ref('Credentials') },
        },
      },
      responses: { '200': jsonResponse('Session', 'The authenticated session'), ...errors(400, 403, 413, 429) },
    }),
  },
  '/api/v1/session/deauthenticate': { post: session('Log out', { security: PROTECTED }) },
};

const objecttype: Json = {
  name: 'objecttype',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' },
};
const data = ['data'];

/** R-DATA-1..3: objects, assets and the search preview (only under /api/v1). */
export const dataPaths: Record<string, Json> = {
  '/api/v1/db/{objecttype}': {
    put: {
      tags: data,
      summary: 'Create or update up to 1,000 objects of one type',
      security: PROTECTED,
      parameters: [objecttype],
      requestBody: { required: true, content: { 'application/json': { schema: ref('ObjectsBody') } } },
      responses: { '200': jsonResponse('ObjectList', 'The saved objects'), ...errors(400, 403, 409, 413) },
    },
  },
  '/api/v1/db/{objecttype}/{id}': {
    get: {
      tags: data,
      summary: 'One object',
      security: PROTECTED,
      parameters: [objecttype, idParam('id', 'The object id')],
      responses: { '200': jsonResponse('Object', 'The object'), ...errors(400, 403) },
    },
    delete: {
      tags: data,
      summary: 'Delete one object',
      security: PROTECTED,
      parameters: [objecttype, idParam('id', 'The object id')],
      responses: { '200': jsonResponse('ObjectDeleted', 'Deleted'), ...errors(400, 403) },
    },
  },
  '/api/v1/eas/put': {
    post: {
      tags: data,
      summary: 'Upload a file (raw body with ?filename=, or the first file part of multipart/form-data)',
      security: PROTECTED,
      parameters: [queryParam('filename', 'The file name; required for a raw body')],
      requestBody: {
        required: true,
        content: {
          'application/octet-stream': { schema: {} },
          'multipart/form-data': {
            schema: { type: 'object', properties: { file: { contentMediaType: 'application/octet-stream' } } },
          },
        },
      },
      responses: { '200': jsonResponse('Asset', 'The stored asset'), ...errors(400, 403, 413) },
    },
  },
  '/api/v1/eas/{id}': {
    get: {
      tags: data,
      summary: 'The metadata of one asset',
      security: PROTECTED,
      parameters: [idParam('id', 'The asset id')],
      responses: { '200': jsonResponse('Asset', 'The asset'), ...errors(400, 403) },
    },
  },
  '/api/v1/search': {
    post: {
      tags: data,
      summary: 'Preview a search over the caller’s objects',
      security: PROTECTED,
      requestBody: { required: true, content: { 'application/json': { schema: ref('SearchDefinition') } } },
      responses: { '200': jsonResponse('SearchResult', 'One page of matches'), ...errors(400, 403, 413) },
    },
  },
};

const html = (description: string): Json => ({
  description,
  headers: { 'Cache-Control': header('string', 'Revalidate') },
  content: { 'text/html': { schema: { type: 'string' } } },
});

/** Health, the root page, and this document with its browsable reference. */
export const servicePaths: Record<string, Json> = {
  '/healthz': {
    get: {
      tags: ['service'],
      summary: 'The process is up',
      security: [],
      responses: { '200': jsonResponse('Health', 'Up') },
    },
  },
  '/metrics': {
    get: {
      tags: ['service'],
      summary: 'Prometheus metrics (text exposition format)',
      description: 'Without METRICS_TOKEN anyone may read it; with it, `Authorization: Bearer <METRICS_TOKEN>` is needed.',
      security: [{}, { metricsToken: [] }],
      responses: {
        '200': {
          description: 'The metrics',
          headers: { 'Cache-Control': header('string', 'no-store') },
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        '401': {
          ...jsonResponse('Error', 'METRICS_TOKEN is set and the bearer token is missing or wrong'),
          headers: { 'WWW-Authenticate': header('string', 'Bearer realm="metrics"') },
        },
        ...errors(),
      },
    },
  },
  '/readyz': {
    get: {
      tags: ['service'],
      summary: 'The database answers, no migration is pending and the storage is usable',
      security: [],
      responses: {
        '200': jsonResponse('Readiness', 'Ready'),
        '503': jsonResponse('Readiness', 'Not ready (or shutting down); failing names the parts, reason says why'),
      },
    },
  },
  '/': {
    get: {
      tags: ['service'],
      summary: 'The web export manager (and the page that explains #server_error:<key> redirects)',
      security: [],
      responses: { '200': html('The page') },
    },
  },
  '/index.html': {
    get: { tags: ['service'], summary: 'The same page', security: [], responses: { '200': html('The page') } },
  },
  '/assets/{file}': {
    get: {
      tags: ['service'],
      summary: "The web export manager's hashed script, style and image files (cached for a year)",
      security: [],
      parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        '200': {
          description: 'The file',
          headers: { 'Cache-Control': header('string', 'public, max-age=31536000, immutable') },
          content: {
            'text/javascript': { schema: { type: 'string' } },
            'text/css': { schema: { type: 'string' } },
            'image/svg+xml': { schema: { type: 'string' } },
          },
        },
        ...errors(),
      },
    },
  },
};

export function documentPaths(prefixes: string[]): Record<string, Json> {
  const doc = (path: string): [string, Json] => [
    path,
    {
      get: {
        tags: ['service'],
        summary: 'This OpenAPI 3.1 document',
        security: [],
        responses: {
          '200': { description: 'The document', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
  ];
  return {
    ...Object.fromEntries(prefixes.map((p) => doc(`${p}/openapi.json`))),
    '/api/docs': {
      get: {
        tags: ['service'],
        summary: 'Browsable reference (Swagger UI, served locally)',
        security: [],
        responses: { '200': html('The reference') },
      },
    },
    '/api/docs/{asset}': {
      get: {
        tags: ['service'],
        summary: 'Script and style files of the reference',
        security: [],
        parameters: [{ name: 'asset', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'The file',
            content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } },
          },
          ...errors(),
        },
      },
    },
  };
}
