import type { Knex } from 'knex';
import { notFound } from '../errors.js';
import type { Definition } from './export-schema.js';
import { applyExportFilter, type ExportFilter } from './filter.js';

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

/** Every query here is scoped by owner: another user's export is simply not found (R-AUTH-6, SPEC §2). */
export async function getOwnedExport(db: Knex, ownerId: number, id: number, forUpdate = false): Promise<ExportRow> {
  const q = db<ExportRow>('exports').where({ id, owner_id: ownerId }).first();
  if (forUpdate) q.forUpdate();
  const row = (await q) as ExportRow | undefined;
  if (!row) throw notFound('export', id);
  return row;
}

export async function listOwnedExports(
  db: Knex,
  ownerId: number,
  opts: { filter: ExportFilter | null; limit: number; offset: number },
): Promise<{ count: number; rows: ExportRow[] }> {
  const base = db<ExportRow>('exports').where({ owner_id: ownerId });
  if (opts.filter) applyExportFilter(base, opts.filter);
  const [{ count }] = (await base.clone().count<{ count: string }[]>({ count: '*' })) as { count: string }[];
  const rows = (await base.orderBy('id', 'desc').limit(opts.limit).offset(opts.offset).select('*')) as ExportRow[];
  return { count: Number(count), rows };
}

export interface RunSummary {
  id: number;
  trigger: string;
  state: string;
  started_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
  progress: Record<string, number> | null;
}

export async function runSummaries(db: Knex, runIds: number[]): Promise<Map<number, RunSummary>> {
  if (runIds.length === 0) return new Map();
  const rows = (await db('runs')
    .whereIn('id', runIds)
    .select('id', 'trigger', 'state', 'started_at', 'finished_at', 'created_at', 'progress')) as RunSummary[];
  return new Map(rows.map((r) => [r.id, r]));
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

export async function publishedFiles(db: Knex, runId: number | null): Promise<PublishedFile[]> {
  if (!runId) return [];
  return (await db('run_files')
    .where({ run_id: runId })
    .orderBy('ord')
    .select('path', 'size', 'sha256', 'crc32', 'mime_type', 'eas_id', 'eas_fileclass', 'mtime')) as PublishedFile[];
}
