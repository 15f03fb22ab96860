// Public surface of the schedule logic; the worker's ticker and the export service import from here.
export { type CompiledSchedule, type CompiledSchedules, compileSchedules } from './compile.js';
export { dueFires, ON_TIME_GRACE_MS } from './due.js';
export { DEFAULT_MAX_FIRES, firesBetween, HORIZON_DAYS, latestFireBetween, nextFireAfter } from './next-fire.js';
export {
  type CalendarSchedule,
  type CronSchedule,
  isCronSchedule,
  MAX_SCHEDULES,
  parseDefaultTime,
  type ScheduleInput,
  validateSchedules,
  validateTimezone,
  WEEKDAYS,
  type Weekday,
} from './schema.js';
