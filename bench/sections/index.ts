import { apiSection } from './api.js';
import { bigObjectsSection } from './big-objects.js';
import { produceSection } from './produce.js';
import { schedulesSection } from './schedules.js';
import { filesSection } from './files.js';
import type { BenchSection } from './section.js';
import { uiSection } from './ui.js';

/** Bench sections in the order they run; each later issue adds its own file and one line here. */
export const SECTIONS: BenchSection[] = [apiSection, produceSection, schedulesSection, filesSection, bigObjectsSection, uiSection];
