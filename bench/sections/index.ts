import { apiSection } from './api.js';
import type { BenchSection } from './section.js';

/** Bench sections in the order they run; each later issue adds its own file and one line here. */
export const SECTIONS: BenchSection[] = [apiSection];
