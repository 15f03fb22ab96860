import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, describeError } from '../api';
import { ListField, Section, Select, TextField, useProblem } from '../fields';
import { formatNumber, t } from '../i18n';

type El = Record<string, unknown> & { type: string; bool?: string };

/** The search as the builder edits it; `json` is set while the user edits it as text. */
export interface SearchDraft {
  objecttypes: string[];
  elements: El[];
  rest: Record<string, unknown>;
  json?: string;
}

export function searchToDraft(search: Record<string, unknown> | null): SearchDraft {
  const { objecttypes, search: elements, ...rest } = search ?? {};
  return {
    objecttypes: Array.isArray(objecttypes) ? (objecttypes as string[]) : [],
    elements: Array.isArray(elements) ? (elements as El[]) : [],
    rest,
  };
}

export function searchFromDraft(d: SearchDraft): Record<string, unknown> | null {
  if (d.json !== undefined) {
    try {
      return JSON.parse(d.json);
    } catch {
      // Sent as written: the server answers with a readable error at export.search.
      return d.json as unknown as Record<string, unknown>;
    }
  }
  if (d.objecttypes.length === 0 && d.elements.length === 0 && Object.keys(d.rest).length === 0) return null;
  return { ...d.rest, objecttypes: d.objecttypes, search: d.elements };
}

const KINDS = ['match', 'in', 'range', 'changed_since', 'complex'];
const BOOLS = ['must', 'should', 'must_not'];

function fresh(type: string, bool = 'must'): El {
  switch (type) {
    case 'match':
      return { type, bool, fields: [], string: '', mode: 'fulltext' };
    case 'in':
      return { type, bool, fields: [], in: [] };
    case 'range':
      return { type, bool, field: '' };
    case 'changed_since':
      return { type, bool, from: new Date(Date.now() - 86_400_000).toISOString() };
    default:
      return { type: 'complex', bool, search: [] };
  }
}

const scalar = (v: string): unknown => (v === '' ? undefined : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v);

/** `datetime-local` wants local wall time without zone; the API wants ISO-8601. */
const toLocalInput = (iso: unknown) => {
  const d = new Date(String(iso ?? ''));
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

function ElementEditor(props: { el: El; index: number; onChange: (e: El) => void; onRemove: () => void }) {
  const { el, index } = props;
  const base = `export.search.search[${index}]`;
  const set = (k: string, v: unknown) => {
    const next = { ...el };
    if (v === undefined) delete next[k];
    else next[k] = v;
    props.onChange(next);
  };
  const [json, setJson] = useState(JSON.stringify(el.search ?? [], null, 2));
  const [jsonError, setJsonError] = useState(false);
  const { message } = useProblem(base, true);
  return (
    <fieldset class="item-set">
      <legend class="item-title">{t('condition', { n: index + 1 })}</legend>
      <div class="row">
        <Select
          label={t('condition_type')}
          path={`${base}.type`}
          value={el.type}
          options={KINDS.map((k) => [k, t(`cond_${k}`)])}
          onChange={(v) => props.onChange(fresh(v, el.bool))}
        />
        <Select
          label={t('bool')}
          path={`${base}.bool`}
          value={el.bool ?? 'must'}
          options={BOOLS.map((b) => [b, t(`bool_${b}`)])}
          onChange={(v) => set('bool', v)}
        />
        <button
          type="button"
          onClick={props.onRemove}
          aria-label={`${t('remove')} ${t('condition', { n: index + 1 })}`}
        >
          {t('remove')}
        </button>
      </div>
      {message}
      {(el.type === 'match' || el.type === 'in') && (
        <ListField
          label={t('search_fields')}
          path={`${base}.fields`}
          hint={t('search_fields_hint')}
          value={el.fields as string[]}
          onChange={(v) => set('fields', v ?? [])}
        />
      )}
      {el.type === 'match' && (
        <div class="grid">
          <TextField
            label={t('search_string')}
            path={`${base}.string`}
            value={String(el.string ?? '')}
            onChange={(v) => set('string', v)}
          />
          <Select
            label={t('mode')}
            path={`${base}.mode`}
            value={String(el.mode ?? 'fulltext')}
            options={['fulltext', 'token', 'wildcard'].map((m) => [m, t(`mode_${m}`)])}
            onChange={(v) => set('mode', v)}
          />
        </div>
      )}
      {el.type === 'in' && (
        <ListField
          label={t('values')}
          path={`${base}.in`}
          kind="scalar"
          hint={t('values_hint')}
          value={el.in as unknown[]}
          onChange={(v) => set('in', v ?? [])}
        />
      )}
      {el.type === 'range' && (
        <div class="grid">
          <TextField
            label={t('range_field')}
            path={`${base}.field`}
            value={String(el.field ?? '')}
            onChange={(v) => set('field', v)}
          />
          <TextField
            label={t('from')}
            path={`${base}.from`}
            value={el.from === undefined ? '' : String(el.from)}
            onChange={(v) => set('from', scalar(v))}
          />
          <TextField
            label={t('to')}
            path={`${base}.to`}
            value={el.to === undefined ? '' : String(el.to)}
            onChange={(v) => set('to', scalar(v))}
          />
        </div>
      )}
      {el.type === 'changed_since' && (
        <TextField
          label={t('since')}
          path={`${base}.from`}
          type="datetime-local"
          value={toLocalInput(el.from)}
          onChange={(v) => set('from', v ? new Date(v).toISOString() : undefined)}
        />
      )}
      {el.type === 'complex' && (
        <>
          <TextField
            label={t('nested_json')}
            path={`${base}.search`}
            multiline
            value={json}
            onChange={(v) => {
              setJson(v);
              try {
                set('search', JSON.parse(v));
                setJsonError(false);
              } catch {
                setJsonError(true);
              }
            }}
          />
          {jsonError && <p class="field-error">{t('invalid_json')}</p>}
        </>
      )}
    </fieldset>
  );
}

interface Preview {
  count: number;
  objects: Record<string, unknown>[];
}

/** A line per object: its type, id and the first few values, so the user recognises what the search finds. */
function summary(o: Record<string, unknown>): string {
  const type = String(o._objecttype ?? '');
  const body = (o[type] ?? o) as Record<string, unknown>;
  const values = Object.entries(body)
    .filter(
      ([k, v]) => !k.startsWith('_') && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'),
    )
    .slice(0, 3)
    .map(([k, v]) => `${k}: ${String(v).slice(0, 60)}`);
  return `${type} #${String(body._id ?? o._id ?? '')}${values.length ? ` — ${values.join(', ')}` : ''}`;
}

/** The search builder with a live preview of the count and the first objects (POST /api/v1/search). */
export function SearchEditor({ value, onChange }: { value: SearchDraft; onChange: (d: SearchDraft) => void }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const search = searchFromDraft(value);
  const key = JSON.stringify(search);

  useEffect(() => {
    const types = (search?.objecttypes as unknown[] | undefined) ?? [];
    if (!search || types.length === 0) {
      setPreview(null);
      setPreviewError(null);
      return;
    }
    const ctrl = new AbortController();
    const timer = setTimeout(() => {
      api<Preview>('POST', '/search', { body: { ...search, limit: 5, offset: 0 }, signal: ctrl.signal })
        .then((p) => {
          setPreview(p);
          setPreviewError(null);
        })
        .catch((err) => {
          if ((err as Error).name === 'AbortError') return;
          setPreview(null);
          setPreviewError(err instanceof ApiError ? describeError(err) : String(err));
        });
    }, 400);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [key]);

  return (
    <Section title={t('search')} path="export.search">
      <div class="check">
        <input
          type="checkbox"
          id="search-as-json"
          checked={value.json !== undefined}
          onChange={(e) =>
            (e.target as HTMLInputElement).checked
              ? onChange({
                  ...value,
                  json: JSON.stringify(searchFromDraft(value) ?? { objecttypes: [], search: [] }, null, 2),
                })
              : (() => {
                  try {
                    onChange(searchToDraft(JSON.parse(value.json ?? 'null')));
                  } catch {
                    onChange({ ...value, json: undefined });
                  }
                })()
          }
        />
        <label for="search-as-json">{t('search_json')}</label>
      </div>
      {value.json !== undefined ? (
        <TextField
          label={t('search')}
          path="export.search.json"
          multiline
          value={value.json}
          onChange={(v) => onChange({ ...value, json: v })}
        />
      ) : (
        <>
          <ListField
            label={t('objecttypes')}
            path="export.search.objecttypes"
            hint={t('objecttypes_hint')}
            value={value.objecttypes}
            onChange={(v) => onChange({ ...value, objecttypes: (v as string[]) ?? [] })}
          />
          {value.elements.map((el, i) => (
            <ElementEditor
              key={`e${i}-${el.type}`}
              el={el}
              index={i}
              onChange={(e) => onChange({ ...value, elements: value.elements.map((x, j) => (j === i ? e : x)) })}
              onRemove={() => onChange({ ...value, elements: value.elements.filter((_, j) => j !== i) })}
            />
          ))}
          <button type="button" onClick={() => onChange({ ...value, elements: [...value.elements, fresh('match')] })}>
            {t('add_condition')}
          </button>
        </>
      )}
      <section class="preview" aria-labelledby="preview-title" aria-live="polite" data-testid="search-preview">
        <p id="preview-title" class="preview-title">{t('preview')}</p>
        {!preview && !previewError && <p class="muted">{t('preview_none')}</p>}
        {previewError && <p class="field-error">{previewError}</p>}
        {preview && (
          <>
            <p>
              <strong>{t('preview_count', { count: formatNumber(preview.count) })}</strong>
            </p>
            <ul>
              {preview.objects.map((o, i) => (
                <li key={i}>{summary(o)}</li>
              ))}
            </ul>
          </>
        )}
      </section>
    </Section>
  );
}
