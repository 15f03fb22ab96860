/**
 * How hard the property and size tests of test/unit push. A developer's `npm run test:unit` is a loop that must take
 * seconds, so it runs a tenth of the cases; CI (which sets CI=true) and `THOROUGH=1` run the full numbers. Any seed a
 * quick run finds is replayed the same way in both modes (fast-check prints it).
 */
const ci = process.env.CI ?? '';
export const THOROUGH = process.env.THOROUGH === '1' || (ci !== '' && ci !== '0' && ci !== 'false');

/** `full` property runs when thorough, a tenth of them (at least 10) otherwise. */
export function runs(full: number): number {
  return THOROUGH ? full : Math.min(full, Math.max(10, Math.ceil(full / 10)));
}

/** `full` when thorough, `quick` otherwise: for sizes (entries, characters) whose point survives a smaller value. */
export function size(full: number, quick: number): number {
  return THOROUGH ? full : quick;
}
