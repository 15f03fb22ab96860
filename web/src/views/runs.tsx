import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, describeError } from '../api';
import { formatBytes, formatDate, formatDuration, formatNumber, t } from '../i18n';
import type { ListAnswer, Run } from '../types';
import { Alert } from '../ui';

const W = 640;
const H = 200;
const PAD = { left: 56, right: 56, top: 16, bottom: 28 };

/** Duration (bars, left axis) and bytes (line, right axis) of the last runs, oldest left; failed runs red with a cross. */
export function RunChart({ runs }: { runs: Run[] }) {
  const shown = [...runs].reverse();
  if (shown.length === 0) return null;
  const maxD = Math.max(1, ...shown.map((r) => r.duration_ms ?? 0));
  const maxB = Math.max(1, ...shown.map((r) => r.bytes ?? 0));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const step = iw / shown.length;
  const bw = Math.max(2, Math.min(28, step * 0.6));
  const x = (i: number) => PAD.left + step * i + step / 2;
  const yD = (d: number) => PAD.top + ih - (d / maxD) * ih;
  const yB = (b: number) => PAD.top + ih - (b / maxB) * ih;
  const line = shown
    .map((r, i) => (r.bytes === null || r.bytes === undefined ? null : `${x(i).toFixed(1)},${yB(r.bytes).toFixed(1)}`))
    .filter(Boolean)
    .join(' ');
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="chart-title chart-desc" data-testid="run-chart">
        <title id="chart-title">{t('runs_chart')}</title>
        <desc id="chart-desc">{t('runs_chart_desc')}</desc>
        <line class="axis" x1={PAD.left} y1={PAD.top + ih} x2={W - PAD.right} y2={PAD.top + ih} />
        <line class="axis" x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={PAD.top + ih} />
        <line class="axis" x1={W - PAD.right} y1={PAD.top} x2={W - PAD.right} y2={PAD.top + ih} />
        <text class="tick" x={PAD.left - 4} y={PAD.top + 4} text-anchor="end">
          {formatDuration(maxD)}
        </text>
        <text class="tick" x={PAD.left - 4} y={PAD.top + ih} text-anchor="end">
          0
        </text>
        <text class="tick" x={W - PAD.right + 4} y={PAD.top + 4}>
          {formatBytes(maxB)}
        </text>
        <text class="tick" x={PAD.left} y={H - 6}>
          {t('duration')} ▮
        </text>
        <text class="tick bytes-label" x={W - PAD.right} y={H - 6} text-anchor="end">
          {t('bytes')} ―
        </text>
        {shown.map((r, i) => {
          const failed = r.state === 'failed';
          const d = r.duration_ms ?? 0;
          const top = yD(d);
          return (
            <g key={r._id} class={failed ? 'run failed' : 'run'}>
              <rect x={x(i) - bw / 2} y={top} width={bw} height={Math.max(1, PAD.top + ih - top)}>
                <title>
                  #{r._id} {r.state} · {formatDuration(r.duration_ms)} · {formatBytes(r.bytes)}
                </title>
              </rect>
              {failed && (
                <path
                  class="cross"
                  d={`M${x(i) - 5},${PAD.top + ih - 16} l10,10 m0,-10 l-10,10`}
                  data-testid="failed-run-mark"
                />
              )}
            </g>
          );
        })}
        {line && <polyline class="bytes" points={line} fill="none" />}
        {shown.map((r, i) =>
          r.bytes === null || r.bytes === undefined ? null : (
            <circle key={`b${r._id}`} class="bytes-dot" cx={x(i)} cy={yB(r.bytes)} r={3} />
          ),
        )}
      </svg>
    </figure>
  );
}

export function Runs({ id, state, lastRun }: { id: number; state: string; lastRun?: number }) {
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctrl = new AbortController();
    api<ListAnswer<Run>>('GET', `/export/${id}/runs`, { query: { limit: 30 }, signal: ctrl.signal })
      .then((a) => setRuns(a.objects))
      .catch((err) => {
        if ((err as Error).name === 'AbortError') return;
        if (err instanceof ApiError && err.status === 404) setRuns([]);
        else setError(describeError(err));
      });
    return () => ctrl.abort();
  }, [id, state, lastRun]);
  if (error) return <Alert kind="error">{error}</Alert>;
  if (!runs) return <p role="status">{t('loading')}</p>;
  if (runs.length === 0) return <p>{t('no_runs')}</p>;
  return (
    <div class="stack">
      <RunChart runs={runs} />
      <table class="list" aria-label={t('tab_runs')}>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t('trigger')}</th>
            <th scope="col">{t('state')}</th>
            <th scope="col">{t('started_at')}</th>
            <th scope="col">{t('finished_at')}</th>
            <th scope="col" class="num">
              {t('duration')}
            </th>
            <th scope="col" class="num">
              {t('objects')}
            </th>
            <th scope="col" class="num">
              {t('bytes')}
            </th>
            <th scope="col">{t('failure_reason')}</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r._id} class={r.state === 'failed' ? 'failed' : undefined}>
              <td>{r._id}</td>
              <td>{r.trigger}</td>
              <td>{t(`state_${r.state}`)}</td>
              <td>{formatDate(r.started_at)}</td>
              <td>{formatDate(r.finished_at)}</td>
              <td class="num">{formatDuration(r.duration_ms)}</td>
              <td class="num">{r.objects === null || r.objects === undefined ? t('none') : formatNumber(r.objects)}</td>
              <td class="num">{formatBytes(r.bytes)}</td>
              <td>{r.failure_reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
