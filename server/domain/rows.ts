/**
 * The rows of the exports tables as the domain reads them: types only, so every layer (runs, files, transports,
 * exports) can name a row without importing the module that queries it.
 */
import type { Definition } from './exports/export-schema.js';

export interface ExportRow {
  id: number;
  owner_id: number;
  version: number;
  type: 'export' | 'export_incremental' | 'download';
  name: string;
  name_given: boolean;
  definition: Definition;
  schedules: unknown[];
  transports: Record<string, unknown>[];
  state: 'new' | 'pending' | 'processing' | 'done' | 'failed';
  failure_reason: string | null;
  passkey: string;
  last_run_id: number | null;
  published_run_id: number | null;
  next_run_at: Date | null;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The last run as the API shows it (timestamps already ISO strings). */
export interface RunSummary {
  id: number;
  trigger: string;
  state: string;
  started_at: string | null;
  finished_at: string | null;
  progress: Record<string, number> | null;
}

export interface PublishedFile {
  path: string;
  size: number;
  sha256: string;
  crc32: number;
  mime_type: string;
  eas_id: number | null;
  eas_fileclass: string | null;
  mtime: number;
}
