import { z } from 'zod';
import { EXPORT_STATES } from '../../domain/exports/filter.js';
import { schedulePreviewBody } from '../../domain/schedules/preview.js';

/** Response schemas of the web page's routes; see schemas.ts for how they are held against responses. */

const isoTime = z.string().describe('ISO 8601 timestamp');

/** `_last_run` of an export, its list entries and its status (schemas.ts uses it too). */
export const lastRunSchema = z
  .object({
    _id: z.int(),
    trigger: z.string(),
    state: z.string(),
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable(),
  })
  .nullable();

const runEntry = z.object({
  _id: z.int(),
  trigger: z.string(),
  state: z.enum(['pending', 'processing', 'done', 'failed']),
  created_at: isoTime,
  started_at: isoTime.nullable(),
  finished_at: isoTime.nullable(),
  duration_ms: z.number().nullable().describe('finished_at − started_at; null until the run ended'),
  objects: z.number().nullable().describe('Objects exported; null unless the run finished (done)'),
  files: z.int().nullable(),
  bytes: z.number().nullable(),
  failure_reason: z.string().nullable(),
});

const runList = z.object({
  limit: z.int(),
  offset: z.int(),
  count: z.int().describe('All runs of the export'),
  objects: z.array(runEntry).describe('Newest first'),
});

const folderEntry = z.object({
  kind: z.literal('folder'),
  path: z.string().describe('Ends with "/"; use it as the next prefix'),
  name: z.string(),
  files: z.int().describe('Files anywhere below the folder'),
  size: z.number().describe('Their total size in bytes'),
});

const fileEntry = z.object({
  kind: z.literal('file'),
  path: z.string(),
  name: z.string(),
  size: z.number(),
  sha256: z.string(),
  crc32: z.number(),
  mime_type: z.string(),
  eas_id: z.int().optional(),
  eas_fileclass: z.string().nullable().optional(),
});

const folderListing = z.object({
  prefix: z.string(),
  limit: z.int(),
  offset: z.int(),
  count: z.int().describe('All direct children of the prefix'),
  entries: z
    .array(z.union([folderEntry, fileEntry]))
    .describe('Folders first, then files, each by name (code point order)'),
});

const scheduleFires = z.object({
  next: z.array(isoTime).describe('Ascending; fewer when the schedule stops firing'),
});

const exportStatus = z.object({
  _id: z.int(),
  _version: z.int(),
  _state: z.enum(EXPORT_STATES),
  _progress: z.record(z.string(), z.number()).nullable(),
  _failure_reason: z.string().nullable(),
  _last_run: lastRunSchema,
  _next_run: isoTime.nullable(),
  _expires_at: isoTime.nullable(),
  _changed: z.string().describe('Opaque; changes whenever any other field changes. Send it back as ?wait='),
});

export const pageRequestSchemas = { SchedulePreview: schedulePreviewBody } as const;
export const pageResponseSchemas = {
  RunList: runList,
  FolderListing: folderListing,
  ScheduleFires: scheduleFires,
  ExportStatus: exportStatus,
} as const;
