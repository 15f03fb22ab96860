import { downloadQuery, ownerFileQuery } from '../query.js';
import { errors, header, idParam, type Json, PROTECTED, queryParams, tailParam } from './operations.js';

const tags = ['files'];
const required = (h: Json): Json => ({ ...h, required: true });

/** Headers of every file, zip and download representation (serve-representation.ts). */
const representationHeaders = (): Json => ({
  'Content-Type': header('string', 'The media type of the file; application/zip or application/x-tar for archives'),
  'Content-Length': header('integer', 'Absent when an archive is streamed without a known size'),
  'Accept-Ranges': header('string', '"bytes" when the size is known, else "none"'),
  ETag: header('string', 'Strong validator of the representation, for If-None-Match and If-Range'),
  'Last-Modified': header('string', 'When the run published the file'),
  'Cache-Control': header('string', 'private, no-transform'),
  'Content-Disposition': header(
    'string',
    'inline or attachment with the file name (RFC 6266), when asked for or for archives',
  ),
  'X-Content-Type-Options': header('string', 'nosniff'),
  'Content-Security-Policy': header('string', 'A sandbox for HTML, XML and SVG files'),
});

const binary = { '*/*': { schema: {} } };

const browserRedirect: Json = {
  description:
    'A browser-facing request failed (disposition given, or any download link) without a Range header: the error ' +
    'key is in the fragment of Location (R-FILE-7)',
  headers: {
    Location: required(header('string', '<FRONTEND_URL>/#server_error:<key>')),
    'Retry-After': header('integer', 'When the failure was throttling'),
  },
};

const representationResponses = (): Json => ({
  '200': { description: 'The whole file or archive', headers: representationHeaders(), content: binary },
  '206': {
    description: 'One byte range of the file (Range: bytes=a-b)',
    headers: { ...representationHeaders(), 'Content-Range': required(header('string', 'bytes a-b/size')) },
    content: binary,
  },
  '302': browserRedirect,
  '304': {
    description: 'Not modified (If-None-Match / If-Modified-Since)',
    headers: { ETag: header('string', 'The validator') },
  },
  '412': {
    description: 'A precondition failed (If-Match / If-Unmodified-Since); empty body',
    headers: { ETag: header('string', 'The current validator') },
  },
  ...errors(400, 403, 410, 429),
  '416': {
    description: 'The Range cannot be satisfied',
    headers: { 'Content-Range': required(header('string', 'bytes */size')) },
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  },
});

const requestHeaders: Json[] = ['Range', 'If-Range', 'If-None-Match', 'If-Modified-Since', 'If-Match', 'If-Unmodified-Since'].map((name) => ({
  name,
  in: 'header',
  required: false,
  description:
    name === 'Range'
      ? 'bytes=a-b, a-, -n; several ranges are served only when they coalesce into one (resuming a download; errors stay JSON)'
      : 'Conditional request (RFC 9110)',
  schema: { type: 'string' },
}));

const ownerQuery = (): Json[] => queryParams(ownerFileQuery);

const ownerGet = (summary: string, tail?: Json): Json => ({
  get: {
    tags,
    summary,
    security: PROTECTED,
    parameters: [idParam(), ...(tail ? [tail] : []), ...ownerQuery(), ...requestHeaders],
    responses: representationResponses(),
  },
});

const downloadGet = (summary: string, tail?: Json): Json => ({
  get: {
    tags,
    summary,
    // The passkey in the path is the credential (R-FILE-6): no session.
    security: [],
    parameters: [
      idParam(),
      ...(tail ? [tail] : []),
      ...queryParams(downloadQuery),
      ...requestHeaders,
    ],
    responses: representationResponses(),
  },
});

/** R-FILE-1/2/5/6/9 under one prefix. */
export function filePaths(prefix: string): Record<string, Json> {
  return {
    [`${prefix}/{id}/file`]: ownerGet('The single file of the published run (or 404 when there are several)'),
    [`${prefix}/{id}/file/{path}`]: ownerGet(
      'One file of the published run',
      tailParam('path', 'The file path, percent-encoded per segment.'),
    ),
    [`${prefix}/{id}/zip`]: ownerGet('All files as a ZIP (or TAR, by configuration) archive'),
    [`${prefix}/{id}/zip/{path}`]: ownerGet(
      'The files under a folder as an archive',
      tailParam('path', 'The folder path.'),
    ),
    [`${prefix}/{id}/download`]: downloadGet('Download link without passkey: always an error (a browser redirect)'),
    [`${prefix}/{id}/download/{rest}`]: downloadGet(
      'Anonymous download of a download export: <passkey>/[run/<runId>/]<file name>, split parts as <name>.z01 …',
      tailParam('rest', '<passkey>/<file name> or <passkey>/run/<runId>/<file name>.'),
    ),
  };
}
