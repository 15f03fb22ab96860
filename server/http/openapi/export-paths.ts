import { errors, idParam, type Json, jsonResponse, PROTECTED, queryParam, ref } from './operations.js';

const exportBody: Json = { required: true, content: { 'application/json': { schema: ref('ExportBody') } } };
const tags = ['exports'];
const exportResponse = (description: string) => ({
  '200': jsonResponse('Export', description),
  ...errors(400, 403, 409),
});

const action = (summary: string): Json => ({
  post: {
    tags,
    summary,
    security: PROTECTED,
    parameters: [idParam()],
    responses: exportResponse('The export as GET shows it'),
  },
});

/** R-EXP-1..12 under one prefix (`/api/v1/export` or the doubled `/api/v1/v1/export`). */
export function exportPaths(prefix: string): Record<string, Json> {
  return {
    [prefix]: {
      get: {
        tags,
        summary: 'List the exports of the current user',
        security: PROTECTED,
        parameters: [
          queryParam('filter', 'Comma = OR of filters, + = AND of parts, e.g. type:download|export+status:failed (R-EXP-1)'),
          queryParam('limit', 'Page size, at most 1000', { type: 'string', pattern: '^[0-9]+$' }),
          queryParam('offset', 'Entries to skip', { type: 'string', pattern: '^[0-9]+$' }),
        ],
        responses: {
          '200': jsonResponse('ExportList', 'A page of exports (without _files, _log, _schedules, _transports)'),
          ...errors(400, 403),
        },
      },
      put: {
        tags,
        summary: 'Create an export',
        security: PROTECTED,
        requestBody: exportBody,
        responses: { ...exportResponse('The created export'), ...errors(400, 403, 413) },
      },
    },
    [`${prefix}/{id}`]: {
      get: {
        tags,
        summary: 'One export with files, log, schedules and transports',
        security: PROTECTED,
        parameters: [
          idParam(),
          queryParam('omit', 'Comma list of parts to leave out: _files, _log (for clients that follow an export)', {
            type: 'string',
            pattern: '^((_files|_log)(,(_files|_log))*)?$',
          }),
        ],
        responses: exportResponse('The export'),
      },
      post: {
        tags,
        summary: 'Update an export (optimistic locking with export._version)',
        security: PROTECTED,
        parameters: [idParam(), queryParam('start', '1 or true: start a run after saving', { type: 'string' })],
        requestBody: exportBody,
        responses: { ...exportResponse('The updated export'), ...errors(400, 403, 409, 413) },
      },
      delete: {
        tags,
        summary: 'Delete an export with its runs and files',
        security: PROTECTED,
        parameters: [idParam()],
        responses: { '200': jsonResponse('ExportDeleted', 'Deleted'), ...errors(400, 403, 409) },
      },
    },
    [`${prefix}/{id}/start`]: action('Start a run'),
    [`${prefix}/{id}/stop`]: action('Stop the pending or processing run'),
    [`${prefix}/{id}/reset_status`]: action('Reset a failed export to idle'),
    [`${prefix}/{id}/passkey`]: action('Rotate the download passkey of a download export'),
  };
}
