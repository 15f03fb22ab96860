import type { Readable } from 'node:stream';
import type { z } from 'zod';

/** One file of a published run, as a transport sees it. `path` is relative to the export root, `/`-separated. */
export interface DeliveryFile {
  path: string;
  size: number;
  sha256: string;
  /** Opens the file's bytes; each call returns a fresh stream. */
  open(signal?: AbortSignal): Promise<Readable>;
}

/** The `email` block of a `_transports` entry. */
export interface TransportEmail {
  recipients: string[];
  message: string;
}

export interface DeliveryContext {
  exportId: number;
  exportName: string;
  runId: number;
  /** Run start time in UTC; the remote folder is `<path>/<export name>/<run timestamp>/`. */
  runStartedAt: Date;
  state: 'done' | 'failed';
  failureReason: string | null;
  /** Files to deliver; `manifest.json` is among them and must be delivered LAST (R-TR-3). */
  files: DeliveryFile[];
  /** Links for the download transport / e-mails: absolute URLs with exact sizes (size null for tar_gz). */
  links: { url: string; size: number | null }[];
  customData: { key: string; value: string }[];
  /**
   * The entry's `email` block (R-TR-1), when it has one: the `email` transport sends to it, `download` mails the links.
   * Optional so callers written before it existed still compile.
   */
  email?: TransportEmail | null;
  /** The export's owner: directory deliveries are confined to the owner's folder, mail caps count per owner. */
  ownerId?: number;
  /** Identifies this delivery across its attempts (the webhook's `delivery_id`, for receivers that deduplicate). */
  deliveryId?: string;
  signal: AbortSignal;
  log(message: string, info?: Record<string, unknown>): void;
}

export interface Transport<Options = Record<string, unknown>> {
  readonly type: string;
  /** Names of options that are secrets: encrypted at rest, returned as "***", never logged (R-TR-4). */
  readonly secretOptions: readonly string[];
  /**
   * The zod schema `validate` parses `options` with (before checks zod cannot express); the OpenAPI document
   * describes each type's options from it (registry.ts, transportEntrySchemas).
   */
  readonly optionsSchema?: z.ZodType;
  /** Validates and normalises `options`; throws an AppError (400, parameters.path) when invalid. */
  validate(options: unknown, path: string): Options;
  /**
   * What the secrets protect (R-ROB-7): the options naming where they are sent (host, port, username, endpoint, URL
   * …), as a JSON-comparable value. A secret sent back as "***" is kept only while this is unchanged. Transports
   * without secrets need none.
   */
  destination?(options: Options): unknown;
  /** Hosts this delivery will connect to, for the TRANSPORT_ALLOW_HOSTS check (R-TR-5). */
  hosts(options: Options): string[];
  deliver(options: Options, ctx: DeliveryContext): Promise<void>;
}
