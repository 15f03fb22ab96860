import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api, describeError } from '../api';
import { Check, type FieldProblem, ProblemContext, Section, Select, TextField, useProblem } from '../fields';
import { lang, t } from '../i18n';
import { type Definition, type ExportObject, type Transport, TYPES } from '../types';
import { Alert } from '../ui';
import { SearchEditor, type SearchDraft, searchFromDraft, searchToDraft } from './search-editor';
import { ScheduleEditor, type ScheduleDraft, scheduleFromDraft, scheduleToDraft } from './schedule-editor';
import { TransportEditor } from './transport-editor';

interface Row {
  path: string;
  display_name: string;
}
interface AssetRow {
  path: string;
  files: boolean;
}

/** What the form edits: the definition plus rows for the maps, kept as typed until saved. */
export interface Draft {
  def: Definition;
  fields: Row[];
  assets: AssetRow[];
  search: SearchDraft;
  schedules: ScheduleDraft[];
  transports: Transport[];
}

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function toDraft(exp: ExportObject | null): Draft {
  const def: Definition = exp
    ? structuredClone(exp.export)
    : { type: 'export', name: '', json: true, csv: false, xml: false, timezone: browserZone(), custom_data: [] };
  return {
    def,
    fields: Object.entries(def.fields ?? {}).map(([path, v]) => ({ path, display_name: v.display_name ?? '' })),
    assets: Object.entries(def.eas_fields ?? {}).map(([path, v]) => ({ path, files: !!v.files })),
    search: searchToDraft(def.search ?? null),
    schedules: (exp?._schedules ?? []).map(scheduleToDraft),
    transports: structuredClone(exp?._transports ?? []),
  };
}

const READ_ONLY_TRANSPORT = ['_state', '_failure_reason', '_log', '_download'];

/** The PUT/POST body of the draft (R-EXP-3/4). */
export function bodyOf(d: Draft, currentVersion?: number) {
  const { _id, _version, ...def } = d.def;
  const fields = d.fields.filter((r) => r.path.trim());
  const assets = d.assets.filter((r) => r.path.trim());
  const name = (def.name ?? '').trim();
  return {
    export: {
      ...def,
      ...(currentVersion !== undefined ? { _version: currentVersion + 1 } : {}),
      name: name || null,
      fields: fields.length
        ? Object.fromEntries(
            fields.map((r) => [r.path.trim(), r.display_name.trim() ? { display_name: r.display_name.trim() } : {}]),
          )
        : null,
      eas_fields: assets.length ? Object.fromEntries(assets.map((r) => [r.path.trim(), { files: r.files }])) : null,
      search: searchFromDraft(d.search),
      custom_data: (def.custom_data ?? []).filter((c) => c.key.trim() || c.value.trim()),
    },
    _schedules: d.schedules.map(scheduleFromDraft),
    _transports: d.transports.map((tr) =>
      Object.fromEntries(Object.entries(tr).filter(([k, v]) => !READ_ONLY_TRANSPORT.includes(k) && v !== undefined)),
    ),
  };
}

/** A validation error's field: `parameters.path`, or the attribute a user error is about. */
function problemOf(err: unknown): FieldProblem | null {
  if (!(err instanceof ApiError)) return null;
  if (err.code === 'error.user.export_name_required') return { path: 'export.name', message: describeError(err) };
  if (err.path === undefined) return null;
  const description = err.body.description ?? describeError(err);
  // The server's descriptions are English; German users get a German lead-in with the detail.
  return { path: err.path, message: lang() === 'en' ? description : `${t('field_invalid')} (${description})` };
}

export function Editor({
  exp,
  version,
  onSaved,
}: {
  exp: ExportObject | null;
  version?: number;
  onSaved: (e: ExportObject) => void;
}) {
  const [draft, setDraft] = useState<Draft>(() => toDraft(exp));
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [problem, setProblem] = useState<FieldProblem | null>(null);
  const [saved, setSaved] = useState(false);
  const loadedVersion = useRef(exp?.export._version);

  // A newer version from the server (another tab, a run changing nothing here) replaces the form only when the user
  // has not typed anything: a failed or pending save never loses input.
  useEffect(() => {
    if (!exp || dirty) return;
    if (exp.export._version !== loadedVersion.current) {
      loadedVersion.current = exp.export._version;
      setDraft(toDraft(exp));
    }
  }, [version]);

  const update = (f: (d: Draft) => void) => {
    setDraft((d) => {
      const next = structuredClone(d);
      f(next);
      return next;
    });
    setDirty(true);
    setSaved(false);
  };
  const setDef = <K extends keyof Definition>(k: K, v: Definition[K]) =>
    update((d) => {
      d.def[k] = v;
    });

  const save = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    setProblem(null);
    setSaved(false);
    try {
      const body = bodyOf(draft, exp ? loadedVersion.current : undefined);
      const res = exp
        ? await api<ExportObject>('POST', `/export/${exp.export._id}`, { body })
        : await api<ExportObject>('PUT', '/export', { body });
      loadedVersion.current = res.export._version;
      setDraft(toDraft(res));
      setDirty(false);
      setSaved(true);
      onSaved(res);
    } catch (err) {
      setError(describeError(err));
      setProblem(problemOf(err));
      // Focus the first field marked invalid, so keyboard and screen reader users land where the problem is.
      setTimeout(() => (document.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus(), 0);
    } finally {
      setSaving(false);
    }
  };

  const zones = useMemo(() => {
    try {
      return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
    } catch {
      return [] as string[];
    }
  }, []);

  const d = draft.def;
  const csv = d.csv && typeof d.csv === 'object' ? (d.csv as Record<string, unknown>) : d.csv ? {} : null;
  const setCsv = (k: string, v: unknown) =>
    update((x) => {
      const o = x.def.csv && typeof x.def.csv === 'object' ? { ...(x.def.csv as Record<string, unknown>) } : {};
      if (v === '' || v === undefined) delete o[k];
      else o[k] = v;
      x.def.csv = Object.keys(o).length ? o : true;
    });

  return (
    <ProblemContext.Provider value={problem}>
      <form onSubmit={save} noValidate aria-label={t('tab_definition')}>
        {error && <Alert kind="error">{`${t('save_failed')} ${error}`}</Alert>}
        <Section title={t('general')}>
          <div class="grid">
            <TextField label={t('name')} path="export.name" value={d.name ?? ''} onChange={(v) => setDef('name', v)} />
            <Select
              label={t('type')}
              path="export.type"
              value={d.type ?? 'export'}
              options={TYPES.map((v) => [v, t(`type_${v}`)])}
              onChange={(v) => setDef('type', v as Definition['type'])}
            />
            <TextField
              label={t('timezone')}
              path="export.timezone"
              value={d.timezone ?? ''}
              list="timezones"
              onChange={(v) => setDef('timezone', v)}
            />
            <datalist id="timezones">
              {zones.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </div>
        </Section>

        <Section title={t('formats')}>
          <div class="grid">
            <div>
              <Check label={t('csv')} path="export.csv" checked={!!d.csv} onChange={(v) => setDef('csv', v)} />
              <Check label={t('json')} path="export.json" checked={!!d.json} onChange={(v) => setDef('json', v)} />
              <Check
                label={t('json_one')}
                path="export.json_one_file_per_object"
                checked={!!d.json_one_file_per_object}
                onChange={(v) => setDef('json_one_file_per_object', v)}
              />
              <Check label={t('xml')} path="export.xml" checked={!!d.xml} onChange={(v) => setDef('xml', v)} />
              <Check
                label={t('xml_one')}
                path="export.xml_one_file_per_object"
                checked={!!d.xml_one_file_per_object}
                onChange={(v) => setDef('xml_one_file_per_object', v)}
              />
            </div>
            <div>
              <Check label={t('flat')} path="export.flat" checked={!!d.flat} onChange={(v) => setDef('flat', v)} />
              <Check
                label={t('filename_original')}
                path="export.filename_original"
                checked={!!d.filename_original}
                onChange={(v) => setDef('filename_original', v)}
              />
              <TextField
                label={t('filename_template')}
                path="export.filename_template"
                value={d.filename_template ?? ''}
                placeholder="%_id%-%_asset.original_filename%"
                onChange={(v) => setDef('filename_template', v || null)}
              />
              <TextField
                label={t('batch_size')}
                path="export.batch_size"
                type="number"
                value={d.batch_size === null || d.batch_size === undefined ? '' : String(d.batch_size)}
                onChange={(v) => setDef('batch_size', v === '' ? null : Number(v))}
              />
            </div>
          </div>
          {csv && (
            <fieldset>
              <legend>{t('csv_options')}</legend>
              <div class="grid">
                <TextField
                  label={t('delimiter')}
                  path="export.csv.delimiter"
                  value={String(csv.delimiter ?? '')}
                  placeholder=","
                  onChange={(v) => setCsv('delimiter', v)}
                />
                <TextField
                  label={t('quote')}
                  path="export.csv.quote"
                  value={String(csv.quote ?? '')}
                  placeholder={'"'}
                  onChange={(v) => setCsv('quote', v)}
                />
                <TextField
                  label={t('escape')}
                  path="export.csv.escape"
                  value={String(csv.escape ?? '')}
                  placeholder={'"'}
                  onChange={(v) => setCsv('escape', v)}
                />
                <div>
                  <Check
                    label={t('use_bom')}
                    path="export.csv.use_bom"
                    checked={!!csv.use_bom}
                    onChange={(v) => setCsv('use_bom', v || undefined)}
                  />
                  <Check
                    label={t('empty_columns')}
                    path="export.csv.empty_columns"
                    checked={!!csv.empty_columns}
                    onChange={(v) => setCsv('empty_columns', v || undefined)}
                  />
                  <Check
                    label={t('escape_formulas')}
                    path="export.csv.escape_formulas"
                    checked={!!csv.escape_formulas}
                    onChange={(v) => setCsv('escape_formulas', v || undefined)}
                  />
                </div>
              </div>
            </fieldset>
          )}
        </Section>

        <Section title={t('fields')} path="export.fields">
          <p class="hint">{t('fields_hint')}</p>
          {draft.fields.map((r, i) => (
            <fieldset class="row-set" key={`f${i}`}>
              <legend class="sr-only">{`${t('fields')} ${i + 1}`}</legend>
              <div class="row">
                <TextField
                  label={t('field_path')}
                  path={`export.fields.${r.path}`}
                  value={r.path}
                  onChange={(v) =>
                    update((x) => {
                      x.fields[i].path = v;
                    })
                  }
                />
                <TextField
                  label={t('display_name')}
                  path={`export.fields.${r.path}.display_name`}
                  value={r.display_name}
                  onChange={(v) =>
                    update((x) => {
                      x.fields[i].display_name = v;
                    })
                  }
                />
                <button
                  type="button"
                  onClick={() => update((x) => void x.fields.splice(i, 1))}
                  aria-label={`${t('remove')} ${t('fields')} ${i + 1}`}
                >
                  {t('remove')}
                </button>
              </div>
            </fieldset>
          ))}
          <button type="button" onClick={() => update((x) => void x.fields.push({ path: '', display_name: '' }))}>
            {t('add_field')}
          </button>
        </Section>

        <Section title={t('asset_fields')} path="export.eas_fields">
          {draft.assets.map((r, i) => (
            <fieldset class="row-set" key={`a${i}`}>
              <legend class="sr-only">{`${t('asset_fields')} ${i + 1}`}</legend>
              <div class="row">
                <TextField
                  label={t('field_path')}
                  path={`export.eas_fields.${r.path}`}
                  value={r.path}
                  onChange={(v) =>
                    update((x) => {
                      x.assets[i].path = v;
                    })
                  }
                />
                <Check
                  label={t('copy_files')}
                  path={`export.eas_fields.${r.path}.files`}
                  checked={r.files}
                  onChange={(v) =>
                    update((x) => {
                      x.assets[i].files = v;
                    })
                  }
                />
                <button
                  type="button"
                  onClick={() => update((x) => void x.assets.splice(i, 1))}
                  aria-label={`${t('remove')} ${t('asset_fields')} ${i + 1}`}
                >
                  {t('remove')}
                </button>
              </div>
            </fieldset>
          ))}
          <button type="button" onClick={() => update((x) => void x.assets.push({ path: '', files: true }))}>
            {t('add_asset_field')}
          </button>
        </Section>

        <SearchEditor
          value={draft.search}
          onChange={(s) =>
            update((x) => {
              x.search = s;
            })
          }
        />

        <Section title={t('schedules')} path="_schedules">
          <p class="hint">{t('schedules_hint')}</p>
          {draft.schedules.map((s, i) => (
            <ScheduleEditor
              key={`s${i}`}
              index={i}
              value={s}
              timezone={d.timezone || browserZone()}
              onChange={(v) =>
                update((x) => {
                  x.schedules[i] = v;
                })
              }
              onRemove={() => update((x) => void x.schedules.splice(i, 1))}
            />
          ))}
          <button
            type="button"
            onClick={() =>
              update((x) => void x.schedules.push({ mode: 'daily', schedule: { hours: [3], minutes: [0] } }))
            }
          >
            {t('add_schedule')}
          </button>
        </Section>

        <Section title={t('transports')} path="_transports">
          {draft.transports.map((tr, i) => (
            <TransportEditor
              key={`t${i}`}
              index={i}
              value={tr}
              onChange={(v) =>
                update((x) => {
                  x.transports[i] = v;
                })
              }
              onRemove={() => update((x) => void x.transports.splice(i, 1))}
            />
          ))}
          <button
            type="button"
            onClick={() => update((x) => void x.transports.push({ type: 'download', packer: 'zip' }))}
          >
            {t('add_transport')}
          </button>
        </Section>

        <Section title={t('custom_data')} path="export.custom_data">
          {(d.custom_data ?? []).map((c, i) => (
            <fieldset class="row-set" key={`c${i}`}>
              <legend class="sr-only">{`${t('custom_data')} ${i + 1}`}</legend>
              <div class="row">
                <TextField
                  label={t('key')}
                  path={`export.custom_data[${i}].key`}
                  value={c.key}
                  onChange={(v) =>
                    update((x) => {
                      x.def.custom_data![i].key = v;
                    })
                  }
                />
                <TextField
                  label={t('value')}
                  path={`export.custom_data[${i}].value`}
                  value={c.value}
                  onChange={(v) =>
                    update((x) => {
                      x.def.custom_data![i].value = v;
                    })
                  }
                />
                <button
                  type="button"
                  onClick={() => update((x) => void x.def.custom_data!.splice(i, 1))}
                  aria-label={`${t('remove')} ${t('custom_data')} ${i + 1}`}
                >
                  {t('remove')}
                </button>
              </div>
            </fieldset>
          ))}
          <button
            type="button"
            onClick={() =>
              update((x) => {
                x.def.custom_data = [...(x.def.custom_data ?? []), { key: '', value: '' }];
              })
            }
          >
            {t('add_custom')}
          </button>
        </Section>

        <GeneralProblem />
        <div class="savebar row">
          <button type="submit" class="primary" disabled={saving}>
            {saving ? t('saving') : exp ? t('save') : t('create')}
          </button>
          {dirty && <span class="muted">{t('unsaved')}</span>}
          {saved && (
            <span role="status" class="ok">
              {t('saved')}
            </span>
          )}
        </div>
      </form>
    </ProblemContext.Provider>
  );
}

/** An error at the whole body (path '' or 'export'). */
function GeneralProblem() {
  const a = useProblem('', true).message;
  const b = useProblem('export', true).message;
  return (
    <>
      {a}
      {b}
    </>
  );
}
