// Public surface of the schedule logic; the worker's ticker and the export service import from here.
export { compileSchedules } from './compile.js';
export { dueFires, ON_TIME_GRACE_MS } from './due.js';
export { nextFireAfter } from './next-fire.js';
export {
  type ScheduleInput,
  validateSchedules,
} from './schema.js';
