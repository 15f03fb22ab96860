import { z } from 'zod';
import { exportBodySchema } from '../../domain/exports/export-schema.js';
import { EXPORT_STATES } from '../../domain/exports/filter.js';
import {
  calendarScheduleSchema,
  cronScheduleSchema,
  MAX_SCHEDULES,
  scheduleSchema,
} from '../../domain/schedules/schema.js';
import { searchDefinitionSchema, searchElementSchema } from '../../domain/search/schema.js';
import { createTransportRegistry, transportEntrySchemas } from '../../domain/transports/registry.js';
import { lastRunSchema, pageRequestSchemas, pageResponseSchemas } from './page-schemas.js';

/**
 * The zod schemas behind the document's components. Request bodies are the very schemas that validate requests;
 * responses are described here in zod next to each other (the presenters build plain objects), and
 * test/helpers/openapi-check.ts holds every response the integration tests receive against them, so they cannot
 * drift from what the presenters return.
 */

const isoTime = z.string().describe('ISO 8601 timestamp');

const errorBody = z
  .object({
    realm: z.enum(['api', 'user', 'server']),
    code: z.string().regex(/^error\.(api|user|server)\.[a-z_]+$/),
    description: z.string(),
    parameters: z.record(z.string(), z.unknown()),
    uuid: z.uuid().optional().describe('Only on 5xx: the same uuid is in the server log line'),
  })
  .describe('The error shape of every failure, whatever the status (docs/errors.md)');

const user = z.object({ _id: z.int(), login: z.string(), name: z.string().nullable(), email: z.string().nullable() });

const session = z.object({
  token: z.string(),
  authenticated: z.boolean(),
  authentication_methods: z.array(z.string()),
  user: user.optional(),
});

/** The stored definition is spread into `export`, so more attributes than these appear (see ExportBody). */
const exportOut = z.looseObject({ _id: z.int(), _version: z.int(), type: z.string(), name: z.string().nullable() });

const exportBase = {
  _basetype: z.literal('export'),
  _date_created: isoTime.nullable(),
  _state: z.enum(EXPORT_STATES),
  _progress: z.record(z.string(), z.number()).nullable().describe('Counters of the pending or processing run'),
  _failure_reason: z.string().nullable(),
  _next_run: isoTime.nullable(),
  _last_run: lastRunSchema,
  _expires_at: isoTime.nullable(),
};

const exportFile = z.object({
  path: z.string(),
  size: z.number(),
  sha256: z.string(),
  crc32: z.number(),
  mime_type: z.string(),
  eas_id: z.int().optional(),
  eas_fileclass: z.string().nullable().optional(),
});

const logEntry = z.object({ type: z.string(), timestamp: isoTime, info: z.record(z.string(), z.unknown()) });

/** A stored transport entry (its own attributes stay, secrets masked in `options`) with its delivery state. */
const transportView = z.looseObject({
  type: z.string(),
  options: z.record(z.string(), z.unknown()),
  _state: z.string().nullable(),
  _failure_reason: z.string().nullable(),
  _log: z.array(z.unknown()),
  _download: z
    .object({ _files: z.array(z.object({ url: z.string(), size: z.number().nullable() })) })
    .optional()
    .describe('Only for type download: the links of the published run, split parts included'),
});

const exportListEntry = z.object({ ...exportBase, export: exportOut });

const exportList = z.object({
  limit: z.int().nullable().describe('null when the request gave no limit (at most 1000 are returned)'),
  offset: z.int(),
  count: z.int(),
  objects: z.array(exportListEntry),
});

const exportFull = z.object({
  ...exportBase,
  _schedules: z.array(z.looseObject({})).describe('As stored (R-SCHED-1)'),
  _transports: z.array(transportView),
  _log: z.array(logEntry).optional().describe('Left out with ?omit=_log'),
  _files: z.array(exportFile).optional().describe('Left out with ?omit=_files'),
  export: exportOut,
});

const exportDeleted = z.object({ _id: z.int(), deleted: z.literal(true) });

/** `{"_objecttype": t, "<t>": {_id, _version, _created_at, _changed_at, …fields}}`. */
const objectInner = z.looseObject({ _id: z.int(), _version: z.int() });
const objectOut = z.object({ _objecttype: z.string() }).catchall(objectInner);
const objectList = z.array(objectOut);
const objectDeleted = z
  .object({ _objecttype: z.string(), deleted: z.literal(true) })
  .catchall(z.object({ _id: z.int(), _version: z.int() }));

/** Bulk body of `PUT /api/v1/db/<objecttype>` (checked in detail by object-input.ts). */
const objectsBody = z.array(z.looseObject({ _objecttype: z.string().optional() }));

const asset = z.object({
  _id: z.int(),
  original_filename: z.string(),
  size: z.number(),
  sha256: z.string(),
  mime_type: z.string().nullable(),
  class: z.string().nullable(),
});

const searchResult = z.object({ count: z.int(), offset: z.int(), limit: z.int(), objects: z.array(objectOut) });

const health = z.object({ status: z.literal('ok') });
const readiness = z.object({
  status: z.string(),
  /** Which parts failed: database, migrations, storage, shutdown. */
  failing: z.array(z.string()).optional(),
  reason: z.string().optional(),
});

/**
 * The transport types the server knows, with their zod schemas: a registry like the server's (its types and schemas do
 * not depend on configuration; host and folder rules are checked beyond the schemas).
 */
const documentedTransports = createTransportRegistry({ allowHosts: [], directoryRoots: [], smtpUrl: null });

const componentOf = (type: string) => `${type[0].toUpperCase()}${type.slice(1)}TransportEntry`;

/** Each type's entry as a named component, with the option names that are secrets (write-only in the document). */
export const transportComponents = Object.entries(transportEntrySchemas(documentedTransports)).map(([type, schema]) => ({
  type,
  name: componentOf(type),
  schema,
  secrets: documentedTransports.getTransport(type).secretOptions,
}));

const transportEntry = z
  .discriminatedUnion(
    'type',
    transportComponents.map((c) => c.schema) as [z.ZodObject, ...z.ZodObject[]],
  )
  .meta({
    discriminator: {
      propertyName: 'type',
      mapping: Object.fromEntries(transportComponents.map((c) => [c.type, `#/components/schemas/${c.name}`])),
    },
  })
  .describe('One delivery target; `type` says which, and which `options` it takes');

/**
 * The body as exportBodySchema validates it, with `_schedules` and `_transports` entries described by the schemas their
 * own validators use (schedules/schema.ts; each transport's optionsSchema), which need configuration (mail limits, hosts)
 * and so run after exportBodySchema, in the service.
 */
const exportBodyDocumented = exportBodySchema.extend({
  _schedules: z.array(scheduleSchema).max(MAX_SCHEDULES).optional(),
  _transports: z.array(transportEntry).max(20).optional(),
});

const credentials = z.object({ token: z.string().optional(), login: z.string(), password: z.string() });

/** Named schemas for `components.schemas`, split by direction (zod's input vs output view of defaults). */
export const requestSchemas = {
  ExportBody: exportBodyDocumented,
  Schedule: scheduleSchema,
  CalendarSchedule: calendarScheduleSchema,
  CronSchedule: cronScheduleSchema,
  TransportEntry: transportEntry,
  ...Object.fromEntries(transportComponents.map((c) => [c.name, c.schema])),
  SearchDefinition: searchDefinitionSchema,
  SearchElement: searchElementSchema,
  ObjectsBody: objectsBody,
  Credentials: credentials,
  ...pageRequestSchemas,
} as const;

export const responseSchemas = {
  Error: errorBody,
  Session: session,
  ExportList: exportList,
  Export: exportFull,
  ExportDeleted: exportDeleted,
  Object: objectOut,
  ObjectList: objectList,
  ObjectDeleted: objectDeleted,
  Asset: asset,
  SearchResult: searchResult,
  Health: health,
  Readiness: readiness,
  ...pageResponseSchemas,
} as const;
