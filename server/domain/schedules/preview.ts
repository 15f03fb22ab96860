import { z } from 'zod';
import { apiError, invalidValue } from '../errors.js';
import { parseWith } from '../validation.js';
import { compileSchedules } from './compile.js';
import { nextFireAfter } from './next-fire.js';
import { validateSchedule, validateTimezone } from './schema.js';

const MAX_PREVIEW_FIRES = 20;

/**
 * `POST …/schedule/preview`. `schedule` is one `_schedules` entry, checked by the very validator of PUT /export
 * (errors under `schedule.`); `timezone` is what `export.timezone` would be (the server's default when absent).
 */
export const schedulePreviewBody = z.strictObject({
  schedule: z.unknown().describe('One _schedules entry exactly as PUT /api/v1/export accepts it'),
  count: z.int().min(1).max(MAX_PREVIEW_FIRES).default(5),
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('ISO 8601 instant; the fires strictly after it (default: now)'),
  timezone: z
    .string()
    .optional()
    .describe('IANA zone the schedule is read in, as export.timezone (default: the server’s TZ)'),
});

export interface PreviewSettings {
  /** SCHEDULE_DEFAULT_TIME ("HH:MM"), as the scheduler compiles with. */
  defaultTime: string;
  /** TZ or UTC, as a new export gets it. */
  defaultTimezone: string;
}

/**
 * The next fire times of a schedule being edited, computed exactly as the scheduler computes `_next_run`: the same
 * validation, compilation (with the configured default time) and `nextFireAfter`, repeated from each fire. Fewer
 * than `count` when the schedule stops firing within the scheduler's horizon (a 30th of February never comes).
 */
export function previewSchedule(body: unknown, settings: PreviewSettings, now = new Date()): { next: string[] } {
  const input = parseWith(schedulePreviewBody, body);
  // z.unknown() lets a missing key through; a preview of nothing is a missing attribute, not a type error.
  if (input.schedule === undefined)
    throw apiError('attribute_expected', 'Attribute schedule is required', { path: 'schedule' });
  const schedule = validateSchedule(input.schedule, 'schedule');
  const timezone =
    input.timezone === undefined ? settings.defaultTimezone : validateTimezone(input.timezone, 'timezone');
  const from = input.from === undefined ? now : new Date(input.from);
  if (Number.isNaN(from.getTime())) throw invalidValue('from', 'from must be an ISO 8601 instant');
  const compiled = compileSchedules([schedule], settings.defaultTime);
  const next: string[] = [];
  let after = from;
  while (next.length < input.count) {
    const fire = nextFireAfter(compiled, timezone, after);
    if (!fire) break;
    next.push(fire.toISOString());
    after = fire;
  }
  return { next };
}
