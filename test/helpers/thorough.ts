/**
 * How hard the property and size tests of test/unit push. A developer's `npm run test:unit` is a loop that must take
 * seconds, so it runs a tenth of the cases; CI (which sets CI=true) and `THOROUGH=1` run the full numbers. A failure's
 * seed and path, which fast-check prints, replay it in either mode.
 */
const ci = process.env.CI ?? '';
const THOROUGH = process.env.THOROUGH === '1' || (ci !== '' && ci !== '0' && ci !== 'false');

/** `full` property runs when thorough, a tenth of them (at least 10) otherwise. */
export function runs(full: number): number {
  return THOROUGH ? full : Math.min(full, Math.max(10, Math.ceil(full / 10)));
}
