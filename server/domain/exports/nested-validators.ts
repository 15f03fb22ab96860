import { apiError } from '../errors.js';
import { validateSchedules } from '../schedules/index.js';
import { parseSearchDefinition } from '../search/index.js';

/**
 * Validation of the nested parts of an export that belong to other modules (search, schedules, transports).
 * The export service calls them through this seam so each module owns its own rules.
 */
export interface NestedValidators {
  search(value: Record<string, unknown>, path: string): Record<string, unknown>;
  schedules(list: unknown[], path: string): unknown[];
  /** `previous` lets a transport keep stored secrets when an update sends "***" back. */
  transports(list: unknown[], path: string, previous: Record<string, unknown>[]): Record<string, unknown>[];
}

const requireObject = (v: unknown, path: string): Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw apiError('type_mismatch', `Attribute ${path} must be an object`, { path });
  }
  return v as Record<string, unknown>;
};

/** Shape-only checks, used until a module provides its own validator. */
const shapeValidators: NestedValidators = {
  search: (value) => value,
  schedules: (list, path) => list.map((s, i) => requireObject(s, `${path}[${i}]`)),
  transports: (list, path) =>
    list.map((t, i) => {
      const o = requireObject(t, `${path}[${i}]`);
      if (typeof o.type !== 'string') {
        throw apiError('attribute_expected', `Attribute ${path}[${i}].type is required`, { path: `${path}[${i}].type` });
      }
      return o;
    }),
};

/** The validators of the search and schedule modules; compose.ts adds the transports module's validator. */
export const moduleValidators: NestedValidators = {
  ...shapeValidators,
  // Stored as the user sent it (after validation), so GET shows their definition, not our defaults.
  search: (value, path) => {
    parseSearchDefinition(value, path);
    return value;
  },
  schedules: (list, path) => validateSchedules(list, path) as unknown[],
};
