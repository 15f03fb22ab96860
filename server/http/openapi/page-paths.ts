import { MAX_WAITS_PER_USER } from '../../domain/exports/status-watch.js';
import { folderQuery, runListQuery, statusQuery } from '../query.js';
import { errors, header, idParam, type Json, jsonResponse, PROTECTED, queryParams, ref } from './operations.js';

/** The web page's routes under one export prefix (`/api/v1/export` or `/api/v1/v1/export`). */
export function pageExportPaths(prefix: string): Record<string, Json> {
  return {
    [`${prefix}/{id}/runs`]: {
      get: {
        tags: ['exports'],
        summary: 'The run history of an export, newest first',
        security: PROTECTED,
        parameters: [idParam(), ...queryParams(runListQuery)],
        responses: { '200': jsonResponse('RunList', 'A page of runs'), ...errors(400, 403) },
      },
    },
    [`${prefix}/{id}/files`]: {
      get: {
        tags: ['files'],
        summary: 'One page of a folder of the published files (direct children, folders first)',
        security: PROTECTED,
        parameters: [idParam(), ...queryParams(folderQuery)],
        responses: { '200': jsonResponse('FolderListing', 'A page of the folder'), ...errors(400, 403, 410) },
      },
    },
    [`${prefix}/{id}/status`]: {
      get: {
        tags: ['exports'],
        summary: 'The state of an export; with wait, a long-poll that answers when it changed or at the timeout',
        security: PROTECTED,
        parameters: [idParam(), ...queryParams(statusQuery)],
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
