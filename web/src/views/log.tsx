import { formatDate, t } from '../i18n';
import type { LogEvent } from '../types';

/** R-EXP-8: the export's events, newest first. */
export function EventLog({ events }: { events: LogEvent[] }) {
  if (events.length === 0) return <p>{t('no_log')}</p>;
  const newest = [...events].reverse();
  return (
    <table class="list" aria-label={t('tab_log')}>
      <thead>
        <tr>
          <th scope="col">{t('log_time')}</th>
          <th scope="col">{t('log_event')}</th>
          <th scope="col">{t('log_info')}</th>
        </tr>
      </thead>
      <tbody>
        {newest.map((e, i) => (
          <tr key={`${e.timestamp}-${i}`} class={/FAILED|STOPPED/.test(e.type) ? 'failed' : undefined}>
            <td>{formatDate(e.timestamp)}</td>
            <td>
              <code>{e.type}</code>
            </td>
            <td class="info">
              {Object.entries(e.info ?? {})
                .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
                .join(', ')}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
