/**
 * `_transports` as stored and as shown (R-TR-1, R-TR-4):
 * - input: validated by the registry; secret options are sealed (AES-256-GCM) before they reach the database; an
 *   update that sends a secret back as "***" keeps the stored value of the entry at the same index and type, but
 *   only while the entry's destination is unchanged (R-ROB-7);
 * - output: secrets masked as "***", plus the read-only `_state`, `_failure_reason`, `_log` of the entry's latest
 *   delivery and, for `download`, `_download._files` (the published run's passkey links with exact sizes).
 *
 * Destinations (TRANSPORT_ALLOW_HOSTS, R-TR-5) are checked when a delivery connects, on the addresses it actually
 * connects to (DNS resolved then): a name can resolve differently later, and the check needs DNS, which the
 * synchronous validation seam does not do. Only IP literals that the allow list refuses are refused on save (each
 * transport's validate). A refused host shows as the transport's `_failure_reason`.
 */
import type { Knex } from 'knex';
import {
  keptSecrets,
  maskSecrets,
  mergeSecrets,
  plainSecrets,
  sealSecrets,
  unsealSecrets,
} from '../../infra/secrets/secret-box.js';
import { apiError } from '../errors.js';
import type { ExportRow } from '../rows.js';
import { publishedFiles } from '../exports/export-repo.js';
import { downloadLinks } from './download-links.js';
import type { Packer } from '../packaging/packaging.js';
import type { TransportEntry, TransportRegistry } from './registry.js';
import { liftSeedUrl } from './url.js';

type Stored = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `transports` validator of the export service: validate, keep "***" secrets where allowed, seal. */
export function createTransportsValidator(registry: TransportRegistry, key: Buffer) {
  return (list: unknown[], path: string, previous: Stored[]): Stored[] => {
    const kept: { index: number; names: string[]; before: Stored }[] = [];
    const merged = Array.isArray(list)
      ? list.map((raw, i) => {
          const item = liftSeedUrl(raw);
          const prev = previous[i];
          if (!isObject(item) || !isObject(item.options)) return item;
          const transport = registry.findTransport(String(item.type));
          if (!transport) return item;
          // "***" keeps the value stored at the same index for the same type; with nothing to keep it is dropped, so
          // validation reports the secret as missing instead of storing the mask as a password.
          // Unsealed so that validation sees the real value (a private key is parsed, a URL password is kept).
          const stored = prev && prev.type === item.type ? unsealSecrets(transport, (prev.options ?? {}) as Stored, key) : {};
          const names = keptSecrets(transport, item.options);
          if (names.length > 0 && prev && prev.type === item.type) kept.push({ index: i, names, before: stored });
          const options = mergeSecrets(transport, stored, item.options);
          if (item === raw) return { ...item, options };
          // The seed form goes back as it came, so the registry's errors name the attribute the client sent.
          const { url, ...rest } = options;
          return { ...(raw as Stored), url, options: rest };
        })
      : list;
    const entries = registry.validateTransports(merged, path);
    for (const { index, names, before } of kept) requireSameDestination(registry, entries[index]!, before, names, `${path}[${index}]`);
    return entries.map((entry) => sealEntry(registry, entry, key));
  };
}

/**
 * R-ROB-7: a stored secret goes only where it went before. Otherwise anyone holding a session could keep the "***"
 * password and point the host at a server of theirs to receive it.
 */
function requireSameDestination(registry: TransportRegistry, entry: TransportEntry, before: Stored, names: string[], at: string) {
  const transport = registry.getTransport(entry.type);
  if (!transport.destination) return;
  let old: string | null;
  try {
    old = JSON.stringify(transport.destination(before));
  } catch {
    old = null; // a stored entry that no longer validates (e.g. the allow list changed): treat as a new destination
  }
  if (old === JSON.stringify(transport.destination(entry.options))) return;
  const attr = `${at}.options.${names[0]}`;
  throw apiError(
    'attribute_expected',
    `Attribute ${attr} must be sent again: the destination it protects (${DESTINATION_WORDS}) changed`,
    { path: attr },
  );
}

const DESTINATION_WORDS = 'host, port, username, endpoint, bucket or URL';

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
  return plainSecrets(transport, unsealSecrets(transport, (entry.options ?? {}) as Stored, key));
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
async function latestDeliveries(db: Knex, exportId: number): Promise<Map<number, DeliveryRow>> {
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
