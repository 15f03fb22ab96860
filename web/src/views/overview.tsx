import { useState } from 'preact/hooks';
import { api, describeError } from '../api';
import { formatBytes, formatDate, formatNumber, t } from '../i18n';
import { go } from '../route';
import type { ExportObject } from '../types';
import { Alert, ConfirmDialog } from '../ui';
import { isActive } from './export-page';

type Action = 'start' | 'stop' | 'reset_status' | 'rotate_passkey' | 'delete';

const CONFIRM: Partial<Record<Action, string>> = {
  stop: 'confirm_stop',
  reset_status: 'confirm_reset',
  rotate_passkey: 'confirm_rotate',
  delete: 'confirm_delete',
};
const DONE: Record<Action, string> = {
  start: 'started',
  stop: 'stopped',
  reset_status: 'reset_done',
  rotate_passkey: 'rotated',
  delete: 'deleted',
};

export function ProgressView({ exp }: { exp: ExportObject }) {
  const p = exp._progress ?? {};
  const active = isActive(exp._state);
  const percent = typeof p.percent === 'number' ? Math.max(0, Math.min(100, Math.round(p.percent))) : null;
  if (!active && exp._state !== 'done') return null;
  return (
    <div class="progress-block">
      <div
        class="progress"
        role="progressbar"
        aria-label={t('progress')}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={exp._state === 'done' ? 100 : (percent ?? undefined)}
      >
        <div
          class={`bar${exp._state === 'done' ? ' full' : ''}`}
          data-percent={exp._state === 'done' ? 100 : (percent ?? 0)}
        >
          <span class="bar-fill" style={{ width: `${exp._state === 'done' ? 100 : (percent ?? 0)}%` }} />
        </div>
      </div>
      <p class="muted" aria-live="polite">
        {exp._state === 'done' ? '100 %' : percent !== null ? `${percent} %` : ''}{' '}
        {(active || (p.objects_total ?? 0) > 0) &&
          t('progress_detail', {
            objects: formatNumber(p.objects_done ?? 0),
            total: formatNumber(p.objects_total ?? 0),
            files: formatNumber(p.files_done ?? 0),
            bytes: formatBytes(p.bytes_written ?? 0),
          })}
      </p>
    </div>
  );
}

export function Overview({ exp, onChanged }: { exp: ExportObject; onChanged: () => void }) {
  const id = exp.export._id!;
  const [asking, setAsking] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);
  const active = isActive(exp._state);

  const run = async (action: Action) => {
    setAsking(null);
    setBusy(true);
    setMessage(null);
    try {
      if (action === 'delete') await api('DELETE', `/export/${id}`);
      else await api('POST', `/export/${id}/${action === 'rotate_passkey' ? 'passkey' : action}`);
      if (action === 'delete') {
        go('/exports');
        return;
      }
      setMessage({ kind: 'success', text: t(DONE[action]) });
      onChanged();
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    } finally {
      setBusy(false);
    }
  };
  const ask = (a: Action) => (CONFIRM[a] ? setAsking(a) : run(a));

  const downloads = (exp._transports ?? []).flatMap((tr) =>
    tr.type === 'download' ? (tr._download?._files ?? []) : [],
  );

  return (
    <div class="stack">
      <dl class="facts">
        <dt>{t('state')}</dt>
        <dd data-testid="export-state">{t(`state_${exp._state}`)}</dd>
        {exp._failure_reason && (
          <>
            <dt>{t('failure_reason')}</dt>
            <dd class="failure">{exp._failure_reason}</dd>
          </>
        )}
        <dt>{t('last_run')}</dt>
        <dd>{formatDate(exp._last_run?.finished_at ?? exp._last_run?.started_at)}</dd>
        <dt>{t('next_run')}</dt>
        <dd>{formatDate(exp._next_run)}</dd>
        {exp._expires_at && (
          <>
            <dt>{t('expires_at')}</dt>
            <dd>{formatDate(exp._expires_at)}</dd>
          </>
        )}
        <dt>{t('created')}</dt>
        <dd>{formatDate(exp._date_created)}</dd>
      </dl>
      <ProgressView exp={exp} />
      <fieldset class="row-set">
        <legend class="sr-only">{t('actions')}</legend>
        <div class="row actions">
          <button type="button" class="primary" disabled={busy || active} onClick={() => ask('start')}>
            {t('start')}
          </button>
          <button type="button" disabled={busy || !active} onClick={() => ask('stop')}>
            {t('stop')}
          </button>
          <button type="button" disabled={busy || active} onClick={() => ask('reset_status')}>
            {t('reset_status')}
          </button>
          <button type="button" disabled={busy} onClick={() => ask('rotate_passkey')}>
            {t('rotate_passkey')}
          </button>
          <button type="button" class="danger" disabled={busy} onClick={() => ask('delete')}>
            {t('delete')}
          </button>
        </div>
      </fieldset>
      {message && <Alert kind={message.kind}>{message.text}</Alert>}
      <section aria-labelledby="downloads-title">
        <h2 id="downloads-title">{t('downloads')}</h2>
        {downloads.length === 0 && <p class="muted">{t('no_downloads')}</p>}
        {downloads.length > 0 && (
          <ul class="downloads">
            {downloads.map((f) => (
              <DownloadLink key={f.url} url={f.url} size={f.size} />
            ))}
          </ul>
        )}
      </section>
      <ConfirmDialog
        open={asking !== null}
        title={asking ? t(asking) : ''}
        text={asking ? t(CONFIRM[asking]!, { name: exp.export.name ?? `#${id}` }) : ''}
        confirmLabel={t('confirm')}
        danger={asking === 'delete' || asking === 'rotate_passkey'}
        onConfirm={() => asking && run(asking)}
        onCancel={() => setAsking(null)}
      />
    </div>
  );
}

function DownloadLink({ url, size }: { url: string; size?: number }) {
  const [copied, setCopied] = useState(false);
  const absolute = new URL(url, location.origin).href;
  const name = decodeURIComponent(url.split('/').pop() ?? url);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(absolute);
    } catch {
      // Clipboard refused (not a secure context): select the text so the user can copy it by hand.
      const input = document.getElementById(`dl-${name}`) as HTMLInputElement | null;
      input?.select();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  return (
    <li class="download">
      <a href={absolute} download>
        {name}
      </a>{' '}
      <span class="muted">{size !== undefined ? formatBytes(size) : ''}</span>
      <input id={`dl-${name}`} class="link-text" readOnly value={absolute} aria-label={`${t('link')} ${name}`} />
      <button type="button" onClick={copy} aria-label={`${copied ? t('copied') : t('copy')} ${name}`}>
        {copied ? t('copied') : t('copy')}
      </button>
    </li>
  );
}
