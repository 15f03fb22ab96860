import type { Knex } from 'knex';
import { customAlphabet } from 'nanoid';
import type { Storage } from '../../infra/storage/storage.js';
import { withTransaction } from '../../infra/db/transaction.js';
import { invalidValue, userError } from '../errors.js';
import { cancelActiveRun, enqueueRun, markExportStopped, resetExportState } from '../runs/lifecycle.js';
import { logEvent } from '../event-log.js';
import { CHANNELS, sendSignal } from '../signals.js';
import type { ExportRow } from '../rows.js';
import { exportPrefix } from '../storage-keys.js';
import { getOwnedExport, getOwnedExportView, listOwnedExports, type ViewParts } from './export-repo.js';
import { DEFINITION_DEFAULTS, type Definition, type ExportBody } from './export-schema.js';
import { parseExportFilter, parsePaging } from './filter.js';
import type { NestedValidators } from './nested-validators.js';

// 32 URL-safe characters from a CSPRNG: 192 bits (R-EXP-3 wants at least 128).
const newPasskey = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 32);

const isActive = (s: ExportRow['state']) => s === 'pending' || s === 'processing';
const STOPPED_BY_USER = 'stopped by user';
const SUPERSEDED = 'The run was cancelled because the export was changed.';

export interface ExportServiceDeps {
  db: Knex;
  storage: Storage;
  validators: NestedValidators;
  defaultTimezone: string;
  /**
   * Called inside the create/update transaction when an export's schedules may have changed (the scheduler
   * recomputes `_next_run`): the bookkeeping commits with the change or not at all, so no request answers an error
   * for a change that was committed.
   */
  onSchedulesChanged?: (trx: Knex.Transaction, exportId: number) => Promise<void>;
  /**
   * Stops the export's transport deliveries in progress (inside stop's transaction); returns how many. A stop of an
   * export whose run is done but whose deliveries still run stops those instead of answering export_not_running.
   */
  stopDeliveries?: (trx: Knex.Transaction, exportId: number) => Promise<number>;
}

/** Export definitions of one owner: every method is owner-scoped; another user's export is a 404. */
export class ExportService {
  constructor(private readonly deps: ExportServiceDeps) {}

  private get db() {
    return this.deps.db;
  }

  get(ownerId: number, id: number) {
    return getOwnedExport(this.db, ownerId, id);
  }

  /** The export with its last run, files and log, for presenting (one statement). */
  view(ownerId: number, id: number, db: Knex = this.db, parts?: ViewParts) {
    return getOwnedExportView(db, ownerId, id, parts);
  }

  /** Runs `fn` on one read-only REPEATABLE READ snapshot, so several reads agree with each other. */
  inSnapshot<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.db.transaction(fn, { isolationLevel: 'repeatable read', readOnly: true });
  }

  list(ownerId: number, query: Record<string, unknown>) {
    const filterRaw = query.filter;
    if (filterRaw !== undefined && typeof filterRaw !== 'string') throw invalidValue('filter', 'filter must be given once');
    const filter = typeof filterRaw === 'string' ? parseExportFilter(filterRaw) : null;
    const paging = parsePaging(query);
    return listOwnedExports(this.db, ownerId, { filter, limit: paging.limit ?? 1000, offset: paging.offset }).then(
      (r) => ({ ...r, ...paging }),
    );
  }

  private checkNested(body: ExportBody, previous: ExportRow | null) {
    const v = this.deps.validators;
    const search = body.export.search ? v.search(body.export.search, 'export.search') : body.export.search;
    const schedules = body._schedules ? v.schedules(body._schedules, '_schedules') : undefined;
    const transports = body._transports
      ? v.transports(body._transports, '_transports', previous?.transports ?? [])
      : undefined;
    return { search, schedules, transports };
  }

  async create(ownerId: number, body: ExportBody): Promise<ExportRow> {
    const nested = this.checkNested(body, null);
    const { _id, _version, type = 'export', name, timezone, ...rest } = body.export;
    const schedules = nested.schedules ?? [];
    if (schedules.length > 0 && !name) throw nameRequired();
    const definition: Definition = {
      ...DEFINITION_DEFAULTS,
      ...rest,
      search: nested.search ?? null,
      timezone: timezone ?? this.deps.defaultTimezone,
    } as Definition;
    const row = await withTransaction(this.db, async (trx) => {
      const [created] = (await trx('exports')
        .insert({
          owner_id: ownerId,
          type,
          name: name ?? 'export',
          name_given: Boolean(name),
          definition: JSON.stringify(definition),
          schedules: JSON.stringify(schedules),
          transports: JSON.stringify(nested.transports ?? []),
          passkey: newPasskey(),
        })
        .returning('*')) as ExportRow[];
      if (!name) await trx('exports').where({ id: created.id }).update({ name: `export-${type}-${created.id}` });
      await logEvent(trx, created.id, 'EXPORT_INSERT', {});
      // R-EXP-3: without schedules an export is queued at once.
      if (schedules.length === 0) await enqueueRun(trx, created, 'create');
      await this.deps.onSchedulesChanged?.(trx, created.id);
      return getOwnedExport(trx, ownerId, created.id);
    });
    return row;
  }

  async update(ownerId: number, id: number, body: ExportBody, start: boolean): Promise<ExportRow> {
    const row = await withTransaction(this.db, async (trx) => {
      const current = await getOwnedExport(trx, ownerId, id, true);
      const { _id, _version, type, name, timezone, ...rest } = body.export;
      if (_version !== undefined && _version !== current.version + 1) {
        throw userError(400, 'version_conflict', `_version must be ${current.version + 1}`, {
          current: current.version,
        });
      }
      const nested = this.checkNested(body, current);
      const schedules = nested.schedules ?? current.schedules;
      const nextType = type ?? current.type;
      const nameGiven = name === undefined ? current.name_given : Boolean(name);
      if (schedules.length > 0 && !nameGiven) throw nameRequired();
      const definition = { ...current.definition, ...rest } as Definition;
      if ('search' in body.export) definition.search = (nested.search ?? null) as Definition['search'];
      if (timezone) definition.timezone = timezone;

      // R-EXP-4: an active run is stopped and its partial output purged (by its worker) before the change applies.
      if (isActive(current.state)) await cancelActiveRun(trx, id, SUPERSEDED);
      await trx('exports')
        .where({ id })
        .update({
          version: current.version + 1,
          type: nextType,
          name: name ?? (name === null || !current.name_given ? `export-${nextType}-${id}` : current.name),
          name_given: nameGiven,
          definition: JSON.stringify(definition),
          schedules: JSON.stringify(schedules),
          transports: JSON.stringify(nested.transports ?? current.transports),
          updated_at: trx.fn.now(),
        });
      await resetExportState(trx, id);
      await logEvent(trx, id, 'EXPORT_UPDATE', { version: current.version + 1 });
      if (start && schedules.length === 0) await enqueueRun(trx, current, 'update');
      await this.deps.onSchedulesChanged?.(trx, id);
      return getOwnedExport(trx, ownerId, id);
    });
    return row;
  }

  async remove(ownerId: number, id: number): Promise<void> {
    await withTransaction(this.db, async (trx) => {
      await getOwnedExport(trx, ownerId, id, true);
      await cancelActiveRun(trx, id, 'The export was deleted.');
      await trx('exports').where({ id }).delete();
      // Its deliveries went with it: a worker uploading one hears it now instead of at its next heartbeat.
      await sendSignal(trx, CHANNELS.jobStopped, `export:${id}`);
    });
    // Files go after the commit: the rows (and so every link) are gone first, then the bytes.
    await this.deps.storage.deletePrefix(exportPrefix(id));
  }

  async start(ownerId: number, id: number): Promise<ExportRow> {
    return withTransaction(this.db, async (trx) => {
      const current = await getOwnedExport(trx, ownerId, id, true);
      const run = isActive(current.state) ? null : await enqueueRun(trx, current, 'start');
      if (!run) throw userError(400, 'export_already_running', `export ${id} is already pending or processing`);
      return getOwnedExport(trx, ownerId, id);
    });
  }

  async stop(ownerId: number, id: number): Promise<ExportRow> {
    return withTransaction(this.db, async (trx) => {
      const current = await getOwnedExport(trx, ownerId, id, true);
      const run = isActive(current.state) ? await cancelActiveRun(trx, id, STOPPED_BY_USER) : null;
      if (!run && (await this.deps.stopDeliveries?.(trx, id))) {
        await logEvent(trx, id, 'EXPORT_STOPPED', { deliveries: true });
        return getOwnedExport(trx, ownerId, id);
      }
      if (!run) throw userError(404, 'export_not_running', `export ${id} is not running`, { type: 'export', id });
      await markExportStopped(trx, id, STOPPED_BY_USER);
      await logEvent(trx, id, 'EXPORT_STOPPED', { run_id: run.id });
      return getOwnedExport(trx, ownerId, id);
    });
  }

  async resetStatus(ownerId: number, id: number): Promise<ExportRow> {
    return withTransaction(this.db, async (trx) => {
      const current = await getOwnedExport(trx, ownerId, id, true);
      if (isActive(current.state)) throw userError(409, 'export_busy', `export ${id} is pending or processing`);
      await resetExportState(trx, id);
      return getOwnedExport(trx, ownerId, id);
    });
  }

  async rotatePasskey(ownerId: number, id: number): Promise<ExportRow> {
    return withTransaction(this.db, async (trx) => {
      await getOwnedExport(trx, ownerId, id, true);
      await trx('exports').where({ id }).update({ passkey: newPasskey(), updated_at: trx.fn.now() });
      // R-EXP-8 has no event of its own for it: an update of the export whose info says what changed (never the key).
      await logEvent(trx, id, 'EXPORT_UPDATE', { passkey_rotated: true });
      return getOwnedExport(trx, ownerId, id);
    });
  }
}

const nameRequired = () => userError(400, 'export_name_required', 'A scheduled export needs a name');
