import { MAX_WAITS_PER_USER } from '../../domain/exports/status-watch.js';
import { errors, header, idParam, type Json, jsonResponse, PROTECTED, queryParam, ref } from './operations.js';

const digits = { type: 'string', pattern: '^[0-9]+$' };

/** The web page's routes under one export prefix (`/api/v1/export` or `/api/v1/v1/export`), issue 13. */
export function pageExportPaths(prefix: string): Record<string, Json> {
  return {
    [`${prefix}/{id}/runs`]: {
      get: {
        tags: ['exports'],
        summary: 'The run history of an export, newest first',
        security: PROTECTED,
        parameters: [
          idParam(),
          queryParam('limit', 'Page size, 1 to 200 (default 20)', digits),
          queryParam('offset', 'Runs to skip', digits),
        ],
        responses: { '200': jsonResponse('RunList', 'A page of runs'), ...errors(400, 403) },
      },
    },
    [`${prefix}/{id}/files`]: {
      get: {
        tags: ['files'],
        summary: 'One page of a folder of the published files (direct children, folders first)',
        security: PROTECTED,
        parameters: [
          idParam(),
          queryParam('prefix', 'The folder: empty for the root, else a path ending with "/"'),
          queryParam('limit', 'Page size, 1 to 1000 (default 200)', digits),
          queryParam('offset', 'Entries to skip', digits),
          queryParam('run', 'A retained run instead of the published one (410 once its files are gone)', digits),
        ],
        responses: { '200': jsonResponse('FolderListing', 'A page of the folder'), ...errors(400, 403, 410) },
      },
    },
    [`${prefix}/{id}/status`]: {
      get: {
        tags: ['exports'],
        summary: 'The state of an export; with wait, a long-poll that answers when it changed or at the timeout',
        security: PROTECTED,
        parameters: [
          idParam(),
          queryParam('wait', 'The _changed of the status the client has: answer when the status differs from it'),
          queryParam('timeout', 'Seconds to wait, 1 to 30 (default 25); then the unchanged status', digits),
        ],
        responses: {
          '200': {
            ...jsonResponse('ExportStatus', 'The status (changed, or unchanged at the timeout)'),
            headers: { 'Cache-Control': header('string', 'no-store') },
          },
          ...errors(400, 403, 429),
          '429': {
            ...jsonResponse(
              'Error',
              `More than ${MAX_WAITS_PER_USER} waits of this user at once (error.user.too_many_waits)`,
            ),
            headers: { 'Retry-After': header('integer', 'Seconds to wait') },
          },
        },
      },
    },
  };
}

/** `POST <prefix>/schedule/preview` under /api/v1 and /api/v1/v1. */
export function schedulePaths(apiPrefix: string): Record<string, Json> {
  return {
    [`${apiPrefix}/schedule/preview`]: {
      post: {
        tags: ['exports'],
        summary: 'The next fire times of one schedule, computed by the scheduler’s own rules',
        security: PROTECTED,
        requestBody: { required: true, content: { 'application/json': { schema: ref('SchedulePreview') } } },
        responses: { '200': jsonResponse('ScheduleFires', 'The next fire times (UTC)'), ...errors(400, 403, 413) },
      },
    },
  };
}
