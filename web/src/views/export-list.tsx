import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from '../api';
import { formatDate, formatNumber, t } from '../i18n';
import { go, href, type Route } from '../route';
import { type ExportObject, type ListAnswer, STATES, TYPES } from '../types';
import { Alert, StateBadge } from '../ui';

const PAGE_SIZES = [25, 50, 100, 250, 1000];

/** The list's filter grammar (R-EXP-1): `type:a+status:b`, parts joined by `+` (AND). */
export function filterOf(type: string, state: string): string {
  const parts: string[] = [];
  if (type) parts.push(`type:${type}`);
  if (state) parts.push(`status:${state}`);
  return parts.join('+');
}

export function ExportList({ route }: { route: Route }) {
  const type = route.query.get('type') ?? '';
  const state = route.query.get('state') ?? '';
  const offset = Math.max(0, Number(route.query.get('offset')) || 0);
  const asked = Number(route.query.get('limit'));
  const PAGE = PAGE_SIZES.includes(asked) ? asked : 50;
  const [data, setData] = useState<ListAnswer<ExportObject> | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const ctrl = new AbortController();
    setError(null);
    api<ListAnswer<ExportObject>>('GET', '/export', {
      query: { limit: PAGE, offset, filter: filterOf(type, state) || undefined },
      signal: ctrl.signal,
    })
      .then(setData)
      .catch((err) => {
        if ((err as Error).name !== 'AbortError') setError(describeError(err));
      });
    return () => ctrl.abort();
  }, [type, state, offset, PAGE]);

  const nav = (q: { type?: string; state?: string; offset?: number; limit?: number }) =>
    go('/exports', {
      type,
      state,
      limit: PAGE === 50 ? undefined : PAGE,
      ...q,
      offset: q.offset || undefined,
    });

  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE)) : 1;
  const page = Math.floor(offset / PAGE) + 1;

  return (
    <section aria-labelledby="list-title">
      <div class="row between">
        <h1 id="list-title">{t('exports_title')}</h1>
        <a class="button primary" href={href('/exports/new')}>
          {t('new_export')}
        </a>
      </div>
      <form class="row filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field inline">
          <label for="filter-type">{t('filter_type')}</label>
          <select id="filter-type" value={type} onChange={(e) => nav({ type: (e.target as HTMLSelectElement).value })}>
            <option value="">{t('all')}</option>
            {TYPES.map((v) => (
              <option key={v} value={v}>
                {t(`type_${v}`)}
              </option>
            ))}
          </select>
        </div>
        <div class="field inline">
          <label for="filter-state">{t('filter_state')}</label>
          <select
            id="filter-state"
            value={state}
            onChange={(e) => nav({ state: (e.target as HTMLSelectElement).value })}
          >
            <option value="">{t('all')}</option>
            {STATES.map((v) => (
              <option key={v} value={v}>
                {t(`state_${v}`)}
              </option>
            ))}
          </select>
        </div>
        <div class="field inline">
          <label for="page-size">{t('page_size')}</label>
          <select
            id="page-size"
            value={String(PAGE)}
            onChange={(e) => nav({ limit: Number((e.target as HTMLSelectElement).value) })}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </form>
      {error && <Alert kind="error">{error}</Alert>}
      {!data && !error && <p role="status">{t('loading')}</p>}
      {data && data.objects.length === 0 && <p>{t('no_exports')}</p>}
      {data && data.objects.length > 0 && (
        <table class="list" data-testid="export-list">
          <thead>
            <tr>
              <th scope="col">{t('col_name')}</th>
              <th scope="col">{t('col_type')}</th>
              <th scope="col">{t('col_state')}</th>
              <th scope="col">{t('col_last_run')}</th>
              <th scope="col">{t('col_next_run')}</th>
            </tr>
          </thead>
          <tbody>
            {data.objects.map((o) => (
              <tr key={o.export._id}>
                <td>
                  <a href={href(`/exports/${o.export._id}`)}>{o.export.name || `#${o.export._id}`}</a>
                </td>
                <td>{t(`type_${o.export.type}`)}</td>
                <td>
                  <StateBadge state={o._state} />
                </td>
                <td>{formatDate(o._last_run?.finished_at ?? o._last_run?.started_at)}</td>
                <td>{formatDate(o._next_run)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && (
        <nav class="row pager" aria-label={t('pagination')}>
          <button type="button" disabled={offset === 0} onClick={() => nav({ offset: Math.max(0, offset - PAGE) })}>
            {t('previous')}
          </button>
          <span aria-live="polite">{t('page_of', { page, pages, count: formatNumber(data.count) })}</span>
          <button type="button" disabled={offset + PAGE >= data.count} onClick={() => nav({ offset: offset + PAGE })}>
            {t('next')}
          </button>
        </nav>
      )}
    </section>
  );
}
