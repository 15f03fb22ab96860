/**
 * `_transports` as stored and as shown (R-TR-1, R-TR-4):
 * - input: validated by the registry; secret options are sealed (AES-256-GCM) before they reach the database; an
 *   update that sends a secret back as "***" keeps the stored value of the entry at the same index and type;
 * - output: secrets masked as "***", plus the read-only `_state`, `_failure_reason`, `_log` of the entry's latest
 *   delivery and, for `download`, `_download._files` (the published run's passkey links with exact sizes).
 *
 * Destinations (TRANSPORT_ALLOW_HOSTS, R-TR-5) are checked when a delivery connects, on the addresses it actually
 * connects to (DNS resolved then), not at save time: a name can resolve differently later, and the check needs DNS,
 * which the synchronous validation seam does not do. A refused host shows as the transport's `_failure_reason`.
 */
import type { Knex } from 'knex';
import { maskSecrets, mergeSecrets, sealSecrets, unsealSecrets } from '../../infra/secrets/secret-box.js';
import type { ExportRow } from '../exports/export-repo.js';
import { publishedFiles } from '../exports/export-repo.js';
import { downloadLinks } from './download-links.js';
import type { Packer, TransportEntry, TransportRegistry } from './registry.js';

type Stored = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `transports` validator of the export service: validate, keep "***" secrets, seal. */
export function createTransportsValidator(registry: TransportRegistry, key: Buffer) {
  return (list: unknown[], path: string, previous: Stored[]): Stored[] => {
    const merged = Array.isArray(list)
      ? list.map((item, i) => {
          const prev = previous[i];
          if (!isObject(item) || !isObject(item.options)) return item;
          const transport = registry.findTransport(String(item.type));
          if (!transport) return item;
          // "***" keeps the value stored at the same index for the same type; with nothing to keep it is dropped, so
          // validation reports the secret as missing instead of storing the mask as a password.
          // Unsealed so that validation sees the real value (a private key is parsed, a URL password is kept).
          const stored = prev && prev.type === item.type ? unsealSecrets(transport, (prev.options ?? {}) as Stored, key) : {};
          return { ...item, options: mergeSecrets(transport, stored, item.options) };
        })
      : list;
    return registry.validateTransports(merged, path).map((entry) => sealEntry(registry, entry, key));
  };
}

function sealEntry(registry: TransportRegistry, entry: TransportEntry, key: Buffer): Stored {
  const transport = registry.getTransport(entry.type);
  return { ...entry, options: sealSecrets(transport, entry.options, key) };
}

/** A stored entry's options ready for `deliver`: secrets decrypted (in memory only). */
export function deliveryOptions(registry: TransportRegistry, entry: Stored, key: Buffer): Stored {
  return unsealSecrets(registry.getTransport(String(entry.type)), (entry.options ?? {}) as Stored, key);
}

/** The clear-text secret values of an entry, for redacting messages as a last line of defence. */
export function secretValues(registry: TransportRegistry, entry: Stored, key: Buffer): string[] {
  const transport = registry.getTransport(String(entry.type));
  const options = unsealSecrets(transport, (entry.options ?? {}) as Stored, key);
  const out: string[] = [];
  for (const name of transport.secretOptions) {
    const v = options[name];
    if (typeof v !== 'string' || v === '') continue;
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^:@/]*:([^@/]*)@/i.exec(v);
    if (m?.[1]) out.push(decodeURIComponent(m[1]));
    else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) out.push(v);
  }
  return out;
}

export interface DeliveryRow {
  id: number;
  export_id: number;
  run_id: number;
  transport_index: number;
  type: string;
  state: 'pending' | 'processing' | 'done' | 'failed';
  attempts: number;
  failure_reason: string | null;
  log: { timestamp: string; message: string; info?: Record<string, unknown> }[];
  updated_at: Date;
}

/** The newest delivery of each `_transports` index of an export. */
export async function latestDeliveries(db: Knex, exportId: number): Promise<Map<number, DeliveryRow>> {
  const rows = (await db('transport_deliveries')
    .distinctOn('transport_index')
    .where({ export_id: exportId })
    .orderBy([{ column: 'transport_index' }, { column: 'id', order: 'desc' }])
    .select('*')) as DeliveryRow[];
  return new Map(rows.map((r) => [r.transport_index, r]));
}

/** The presenter's TransportsView: masked options, delivery state, download links. */
export function createTransportsView(deps: { db: Knex; registry: TransportRegistry; publicUrl: string }) {
  return async (row: ExportRow, db: Knex = deps.db): Promise<unknown[]> => {
    const entries = (row.transports ?? []) as Stored[];
    if (entries.length === 0) return [];
    const needsFiles = entries.some((e) => e.type === 'download');
    // Sequential: `db` may be a transaction (one connection), where parallel queries would only queue.
    const deliveries = await latestDeliveries(db, row.id);
    const files = needsFiles ? await publishedFiles(db, row.published_run_id) : [];
    return entries.map((entry, i) => {
      const transport = deps.registry.findTransport(String(entry.type));
      const options = transport ? maskSecrets(transport, (entry.options ?? {}) as Stored) : {};
      const d = deliveries.get(i);
      const current = d && d.type === entry.type ? d : undefined;
      return {
        ...entry,
        options,
        _state: current?.state ?? null,
        _failure_reason: current?.failure_reason ?? null,
        _log: current?.log ?? [],
        ...(entry.type === 'download'
          ? { _download: { _files: row.published_run_id ? downloadLinks(row, Number(row.published_run_id), files, entry.packer as Packer | undefined, deps.publicUrl) : [] } }
          : {}),
      };
    });
  };
}
