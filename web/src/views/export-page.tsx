import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, describeError } from '../api';
import { t } from '../i18n';
import { go, href, type Route } from '../route';
import type { ExportObject, ExportStatus } from '../types';
import { Alert, StateBadge } from '../ui';
import { Editor } from './editor';
import { FilesBrowser } from './files';
import { EventLog } from './log';
import { Overview } from './overview';
import { Runs } from './runs';

const TABS = ['overview', 'definition', 'files', 'runs', 'log'] as const;

export const isActive = (state: string | undefined) => state === 'pending' || state === 'processing';

async function loadExport(id: number, signal?: AbortSignal): Promise<ExportObject> {
  try {
    return await api<ExportObject>('GET', `/export/${id}`, { query: { omit: '_files' }, signal });
  } catch (err) {
    // A server without the `omit` parameter (issue 13 item 4) answers 400; the whole export does as well.
    if (err instanceof ApiError && err.status === 400) return api<ExportObject>('GET', `/export/${id}`, { signal });
    throw err;
  }
}

/**
 * Follows an export while the page is open: a long poll on `/status?wait=<_changed>` answers as soon as anything
 * changes; a server without it is polled every 2 s while the export runs.
 */
function useFollow(id: number | null, state: string | undefined, onChange: (s: ExportStatus | null) => void) {
  const changed = useRef<string | undefined>(undefined);
  const fallback = useRef(false);
  const cb = useRef(onChange);
  cb.current = onChange;
  useEffect(() => {
    if (id === null) return;
    const ctrl = new AbortController();
    let stopped = false;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    (async () => {
      while (!stopped) {
        if (fallback.current) {
          await sleep(2000);
          if (!stopped && isActive(stateRef.current)) cb.current(null);
          continue;
        }
        try {
          const s = await api<ExportStatus>('GET', `/export/${id}/status`, {
            query: changed.current ? { wait: changed.current, timeout: 25 } : {},
            signal: ctrl.signal,
          });
          if (stopped) return;
          if (changed.current !== undefined && s._changed !== changed.current) cb.current(s);
          changed.current = s._changed;
        } catch (err) {
          if (stopped || (err as Error).name === 'AbortError') return;
          if (err instanceof ApiError && (err.status === 404 || err.status === 400 || err.status === 405)) {
            fallback.current = true;
          } else {
            await sleep(2000);
          }
        }
      }
    })();
    return () => {
      stopped = true;
      ctrl.abort();
    };
  }, [id]);
  const stateRef = useRef(state);
  stateRef.current = state;
}

export function ExportPage({ id, tab, route }: { id: number | null; tab: string; route: Route }) {
  const [exp, setExp] = useState<ExportObject | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notFound, setNotFound] = useState(false);
  const [version, setVersion] = useState(0);

  const reload = useCallback(() => {
    if (id === null) return;
    loadExport(id)
      .then((e) => {
        setExp(e);
        setVersion((v) => v + 1);
        setError(null);
      })
      .catch((err) => {
        if (err instanceof ApiError && err.status === 404) setNotFound(true);
        setError(describeError(err));
      });
  }, [id]);

  useEffect(() => {
    setExp(null);
    setNotFound(false);
    reload();
  }, [id]);

  // Progress alone is taken from the status answer; a new state, version or run re-reads the export (without _files).
  const expRef = useRef(exp);
  expRef.current = exp;
  const follow = useCallback(
    (s: ExportStatus | null) => {
      const prev = expRef.current;
      const same =
        s &&
        prev &&
        prev._state === s._state &&
        prev.export._version === s._version &&
        prev._last_run?._id === s._last_run?._id;
      if (!s || !prev || !same) return reload();
      setExp({
        ...prev,
        _progress: s._progress,
        _next_run: s._next_run,
        _expires_at: s._expires_at,
        _failure_reason: s._failure_reason,
      });
    },
    [reload],
  );
  useFollow(notFound ? null : id, exp?._state, follow);

  useEffect(() => {
    document.title = `${id === null ? t('new_export_title') : exp?.export.name || `#${id}`} – ${t('app')}`;
  });

  if (id === null) {
    return (
      <section aria-labelledby="export-title">
        <p>
          <a href={href('/exports')}>← {t('back_to_list')}</a>
        </p>
        <h1 id="export-title">{t('new_export_title')}</h1>
        <Editor exp={null} onSaved={(e) => go(`/exports/${e.export._id}`)} />
      </section>
    );
  }

  const current = (TABS as readonly string[]).includes(tab) ? tab : 'overview';
  const title = exp ? exp.export.name || `#${id}` : `#${id}`;

  return (
    <section aria-labelledby="export-title">
      <p>
        <a href={href('/exports')}>← {t('back_to_list')}</a>
      </p>
      <div class="row between">
        <h1 id="export-title">{title}</h1>
        {exp && <StateBadge state={exp._state} />}
      </div>
      {error && <Alert kind="error">{error}</Alert>}
      {!exp && !error && <p role="status">{t('loading')}</p>}
      {exp && !notFound && (
        <>
          <nav class="tabs" aria-label={t('sections')}>
            {TABS.map((name) => (
              <a key={name} href={href(`/exports/${id}/${name}`)} aria-current={current === name ? 'page' : undefined}>
                {t(`tab_${name}`)}
              </a>
            ))}
          </nav>
          {current === 'overview' && <Overview exp={exp} onChanged={reload} />}
          {current === 'definition' && <Editor key={id} exp={exp} version={version} onSaved={() => reload()} />}
          {current === 'files' && <FilesBrowser exp={exp} route={route} />}
          {current === 'runs' && <Runs id={id} state={exp._state} lastRun={exp._last_run?._id} />}
          {current === 'log' && <EventLog events={exp._log ?? []} />}
        </>
      )}
    </section>
  );
}
