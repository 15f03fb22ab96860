export type ExportState = 'new' | 'pending' | 'processing' | 'done' | 'failed';
export const STATES: ExportState[] = ['new', 'pending', 'processing', 'done', 'failed'];
export const TYPES = ['export', 'export_incremental', 'download'] as const;
export type ExportType = (typeof TYPES)[number];

export interface Session {
  token: string;
  authenticated: boolean;
  user?: { _id: number; login: string; name?: string | null; email?: string | null };
}

export interface Progress {
  objects_done?: number;
  objects_total?: number;
  files_done?: number;
  bytes_written?: number;
  percent?: number;
}

export interface LastRun {
  _id: number;
  trigger?: string;
  started_at?: string | null;
  finished_at?: string | null;
  state?: string;
}

export interface Definition {
  _id?: number;
  _version?: number;
  type?: ExportType;
  name?: string | null;
  search?: Record<string, unknown> | null;
  fields?: Record<string, { display_name?: string }> | null;
  eas_fields?: Record<string, { files: boolean }> | null;
  csv?: boolean | Record<string, unknown>;
  json?: boolean;
  json_one_file_per_object?: boolean;
  xml?: boolean;
  xml_one_file_per_object?: boolean;
  flat?: boolean;
  filename_original?: boolean;
  filename_template?: string | null;
  batch_size?: number | null;
  timezone?: string;
  custom_data?: { key: string; value: string }[];
}

export interface Schedule {
  weekdays?: string[];
  days_of_month?: number[];
  hours?: number[];
  minutes?: number[];
  cron?: string;
}

export interface Transport {
  type: string;
  packer?: string;
  options?: Record<string, unknown>;
  email?: { recipients?: string[]; message?: string };
  url?: string;
  _state?: string;
  _failure_reason?: string | null;
  _download?: { _files?: { url: string; size?: number; name?: string }[] };
}

export interface LogEvent {
  type: string;
  timestamp: string;
  info?: Record<string, unknown>;
}

export interface ExportObject {
  _basetype?: string;
  _date_created?: string;
  _state: ExportState;
  _progress?: Progress | null;
  _failure_reason?: string | null;
  _next_run?: string | null;
  _last_run?: LastRun | null;
  _expires_at?: string | null;
  _schedules?: Schedule[];
  _transports?: Transport[];
  _log?: LogEvent[];
  export: Definition;
}

export interface ExportStatus {
  _id: number;
  _version: number;
  _state: ExportState;
  _progress?: Progress | null;
  _failure_reason?: string | null;
  _last_run?: LastRun | null;
  _next_run?: string | null;
  _expires_at?: string | null;
  _changed: string;
}

export interface ListAnswer<T> {
  limit: number | null;
  offset: number;
  count: number;
  objects: T[];
}

export interface FileEntry {
  kind: 'folder' | 'file';
  path: string;
  name: string;
  size: number;
  files?: number;
  sha256?: string;
  mime_type?: string;
}

export interface FilesAnswer {
  prefix: string;
  limit: number;
  offset: number;
  count: number;
  entries: FileEntry[];
}

export interface Run {
  _id: number;
  trigger: string;
  state: string;
  created_at?: string;
  started_at?: string | null;
  finished_at?: string | null;
  duration_ms?: number | null;
  objects?: number | null;
  files?: number | null;
  bytes?: number | null;
  failure_reason?: string | null;
}
