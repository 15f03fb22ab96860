import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, describeError } from '../api';
import { ListField, Select, TextField, useId, useProblem } from '../fields';
import { formatDate, t } from '../i18n';
import type { Schedule } from '../types';

export type Mode = 'daily' | 'weekly' | 'monthly' | 'custom' | 'cron';
export interface ScheduleDraft {
  mode: Mode;
  schedule: Schedule;
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

/** The preset a stored schedule looks like, so the simplest editor opens for it. */
export function scheduleToDraft(s: Schedule): ScheduleDraft {
  const single = (s.hours?.length ?? 1) === 1 && (s.minutes?.length ?? 1) === 1;
  let mode: Mode = 'custom';
  if (s.cron) mode = 'cron';
  else if (single && !s.weekdays && !s.days_of_month) mode = 'daily';
  else if (single && s.weekdays && !s.days_of_month) mode = 'weekly';
  else if (single && !s.weekdays && s.days_of_month) mode = 'monthly';
  return { mode, schedule: { ...s } };
}

export function scheduleFromDraft(d: ScheduleDraft): Schedule {
  const s = d.schedule;
  if (d.mode === 'cron') return { cron: s.cron ?? '' };
  const out: Schedule = {};
  if (s.weekdays?.length && d.mode !== 'daily' && d.mode !== 'monthly') out.weekdays = s.weekdays;
  if (s.days_of_month?.length && d.mode !== 'daily' && d.mode !== 'weekly') out.days_of_month = s.days_of_month;
  if (s.hours?.length) out.hours = s.hours;
  if (s.minutes?.length) out.minutes = s.minutes;
  return out;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The weekday names in the user's language (2024-01-01 was a Monday). */
const weekdayName = (i: number, locale: string) =>
  new Intl.DateTimeFormat(locale, { weekday: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, 1 + i)));

/** Next fire times of the schedule being edited, computed by the server's own rules (POST /api/v1/schedule/preview). */
function NextFires({ schedule, timezone }: { schedule: Schedule; timezone: string }) {
  const [next, setNext] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify([schedule, timezone]);
  useEffect(() => {
    const ctrl = new AbortController();
    const timer = setTimeout(async () => {
      const ask = (body: Record<string, unknown>) =>
        api<{ next: string[] }>('POST', '/schedule/preview', { body, signal: ctrl.signal });
      try {
        let res: { next: string[] };
        try {
          res = await ask({ schedule, count: 5, timezone });
        } catch (err) {
          // A server that takes the zone from elsewhere refuses the attribute; ask again without it.
          if (err instanceof ApiError && err.path === 'timezone') res = await ask({ schedule, count: 5 });
          else throw err;
        }
        setNext(res.next);
        setError(null);
      } catch (err) {
        if ((err as Error).name === 'AbortError') return;
        setNext(null);
        setError(err instanceof ApiError && err.status === 404 ? null : describeError(err));
      }
    }, 400);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [key]);
  return (
    <div class="preview" aria-live="polite">
      <p class="preview-title">{t('next_fires')}</p>
      {error && <p class="field-error">{error}</p>}
      {next && (
        <ol data-testid="next-fires">
          {next.map((n) => (
            <li key={n}>
              <time dateTime={n}>{formatDate(n, timezone)}</time>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

export function ScheduleEditor(props: {
  index: number;
  value: ScheduleDraft;
  timezone: string;
  onChange: (d: ScheduleDraft) => void;
  onRemove: () => void;
}) {
  const { value, index } = props;
  const s = value.schedule;
  const base = `_schedules[${index}]`;
  const set = (patch: Partial<Schedule>) => props.onChange({ ...value, schedule: { ...s, ...patch } });
  const time = `${pad(s.hours?.[0] ?? 3)}:${pad(s.minutes?.[0] ?? 0)}`;
  const setTime = (v: string) => {
    const m = /^(\d{1,2}):(\d{2})/.exec(v);
    if (m) set({ hours: [Number(m[1])], minutes: [Number(m[2])] });
  };
  const { message } = useProblem(base, true);
  const weekdaysProblem = useProblem(`${base}.weekdays`).message;
  const groupId = useId('wd');
  const locale = document.documentElement.lang === 'de' ? 'de-DE' : 'en';
  const label = t('schedule', { n: index + 1 });

  return (
    <fieldset class="item-set">
      <legend class="item-title">{label}</legend>
      <div class="row">
        <Select
          label={t('preset')}
          path={`${base}.preset`}
          value={value.mode}
          options={(['daily', 'weekly', 'monthly', 'custom', 'cron'] as Mode[]).map((m) => [m, t(`preset_${m}`)])}
          onChange={(m) => {
            const mode = m as Mode;
            const next: Schedule =
              mode === 'cron'
                ? { cron: s.cron ?? `${s.minutes?.[0] ?? 0} ${s.hours?.[0] ?? 3} * * *` }
                : {
                    hours: s.hours ?? [3],
                    minutes: s.minutes ?? [0],
                    ...(mode === 'weekly' || mode === 'custom' ? { weekdays: s.weekdays ?? ['monday'] } : {}),
                    ...(mode === 'monthly' || (mode === 'custom' && s.days_of_month)
                      ? { days_of_month: s.days_of_month ?? [1] }
                      : {}),
                  };
            if (mode === 'custom' && !s.weekdays) delete next.weekdays;
            props.onChange({ mode, schedule: next });
          }}
        />
        <button type="button" onClick={props.onRemove} aria-label={`${t('remove')} ${label}`}>
          {t('remove')}
        </button>
      </div>
      {message}
      {value.mode === 'cron' && (
        <TextField
          label={t('cron')}
          path={`${base}.cron`}
          hint={t('cron_hint')}
          value={s.cron ?? ''}
          onChange={(v) => set({ cron: v })}
        />
      )}
      {(value.mode === 'weekly' || value.mode === 'custom') && (
        <fieldset>
          <legend id={groupId}>{t('weekdays')}</legend>
          <div class="row">
            {WEEKDAYS.map((w, i) => (
              <label key={w} class="check">
                <input
                  type="checkbox"
                  name={`${base}.weekdays`}
                  checked={s.weekdays?.includes(w) ?? false}
                  onChange={(e) => {
                    const on = (e.target as HTMLInputElement).checked;
                    const list = WEEKDAYS.filter((x) => (x === w ? on : s.weekdays?.includes(x)));
                    set({ weekdays: list.length ? list : undefined });
                  }}
                />
                {weekdayName(i, locale)}
              </label>
            ))}
          </div>
          {weekdaysProblem}
        </fieldset>
      )}
      {(value.mode === 'monthly' || value.mode === 'custom') && (
        <ListField
          label={t('days_of_month')}
          path={`${base}.days_of_month`}
          kind="number"
          hint={t('days_hint')}
          value={s.days_of_month}
          onChange={(v) => set({ days_of_month: v as number[] | undefined })}
        />
      )}
      {(value.mode === 'daily' || value.mode === 'weekly' || value.mode === 'monthly') && (
        <TextField label={t('time')} path={`${base}.hours`} type="time" value={time} onChange={setTime} />
      )}
      {value.mode === 'custom' && (
        <div class="grid">
          <ListField
            label={t('hours')}
            path={`${base}.hours`}
            kind="number"
            hint={t('hours_hint')}
            value={s.hours}
            onChange={(v) => set({ hours: v as number[] | undefined })}
          />
          <ListField
            label={t('minutes')}
            path={`${base}.minutes`}
            kind="number"
            hint={t('minutes_hint')}
            value={s.minutes}
            onChange={(v) => set({ minutes: v as number[] | undefined })}
          />
        </div>
      )}
      <NextFires schedule={scheduleFromDraft(value)} timezone={props.timezone} />
    </fieldset>
  );
}
