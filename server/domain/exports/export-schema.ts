import { z } from 'zod';
import { apiError } from '../errors.js';
import { text } from '../text.js';
import { parseWith } from '../validation.js';
import { EXPORT_TYPES } from './filter.js';

const isValidTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz.length > 0;
  } catch {
    return false;
  }
};

const flag = z.boolean();
const csvOptions = z.strictObject({
  delimiter: text().length(1, 'must be one character').optional(),
  quote: text().length(1, 'must be one character').optional(),
  escape: text().length(1, 'must be one character').optional(),
  use_bom: flag.optional(),
  empty_columns: flag.optional(),
  escape_formulas: flag.optional(),
});
const fieldPath = text().min(1).max(500);

/** The rw attributes of `export` (R-EXP-9). Read-only ones (`_id`) are accepted and ignored. */
const exportAttributes = z.strictObject({
  _id: z.unknown().optional(),
  _version: z.number().int().min(1).optional(),
  type: z.enum(EXPORT_TYPES).optional(),
  name: text().trim().min(1).max(255).nullable().optional(),
  search: z.record(text(), z.unknown()).nullable().optional(),
  fields: z
    .record(fieldPath, z.strictObject({ display_name: text().min(1).max(255).optional() }))
    .nullable()
    .optional(),
  eas_fields: z.record(fieldPath, z.strictObject({ files: flag })).nullable().optional(),
  csv: z.union([flag, csvOptions]).optional(),
  json: flag.optional(),
  json_one_file_per_object: flag.optional(),
  xml: flag.optional(),
  xml_one_file_per_object: flag.optional(),
  flat: flag.optional(),
  filename_original: flag.optional(),
  filename_template: text().min(1).max(500).nullable().optional(),
  batch_size: z.number().int().min(1).max(100_000).nullable().optional(),
  timezone: text().refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin').optional(),
  custom_data: z
    .array(z.strictObject({ key: text().min(1).max(200), value: text().max(10_000) }))
    .max(100)
    .optional(),
});

type ExportAttributes = z.infer<typeof exportAttributes>;

/** Server-managed top-level attributes of the export object: accepted in a body and ignored (R-EXP-3). */
const READ_ONLY_TOP = ['_basetype', '_date_created', '_state', '_progress', '_failure_reason', '_next_run', '_last_run',
  '_expires_at', '_log', '_files', '_downloads'] as const;

/** The whole PUT/POST body; exported for the OpenAPI document. */
export const exportBodySchema = z.strictObject({
  export: exportAttributes,
  _schedules: z.array(z.unknown()).max(50).optional(),
  _transports: z.array(z.unknown()).max(20).optional(),
  ...Object.fromEntries(READ_ONLY_TOP.map((k) => [k, z.unknown().optional()])),
});

export interface ExportBody {
  export: ExportAttributes;
  _schedules?: unknown[];
  _transports?: unknown[];
}

/** Validates a PUT/POST body's shape; the nested search, schedules and transports are checked by their modules. */
export function parseExportBody(input: unknown): ExportBody {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw apiError('type_mismatch', 'The body must be a JSON object with an "export" attribute', { path: '' });
  }
  const parsed = parseWith(exportBodySchema, input);
  return { export: parsed.export, _schedules: parsed._schedules, _transports: parsed._transports };
}

/** The definition as stored: every format attribute with its default, so GET shows the full shape. */
export const DEFINITION_DEFAULTS = {
  search: null,
  fields: null,
  eas_fields: null,
  csv: false,
  json: true,
  json_one_file_per_object: false,
  xml: false,
  xml_one_file_per_object: false,
  flat: false,
  filename_original: false,
  filename_template: null,
  batch_size: null,
  custom_data: [],
} as const;

export type Definition = Omit<ExportAttributes, '_id' | '_version' | 'type' | 'name' | 'timezone'> & { timezone: string };
