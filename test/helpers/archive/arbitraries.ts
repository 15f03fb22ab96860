import fc from 'fast-check';
import type { TestFile } from './helpers.js';

// Plain ASCII, characters that need percent-encoding elsewhere, Latin-1, CJK, an astral emoji, a combining mark.
const chars = [...'abcxyzABC0189 -_.~%#+&=()[]äöüßéÅ中文字😀e\u0301'];

const segment = (maxLength: number) =>
  fc
    .array(fc.constantFrom(...chars), { minLength: 1, maxLength })
    .map((a) => a.join(''))
    .filter((s) => s !== '.' && s !== '..');

export const entryName = (maxSegment = 12, maxSegments = 3) =>
  fc.array(segment(maxSegment), { minLength: 1, maxLength: maxSegments }).map((a) => a.join('/'));

export const testFiles = (
  opts: { maxFiles?: number; maxSize?: number; maxSegment?: number; maxSegments?: number } = {},
) =>
  fc.uniqueArray(
    fc.record({
      name: entryName(opts.maxSegment, opts.maxSegments),
      data: fc
        .oneof(fc.constant(0), fc.integer({ min: 0, max: opts.maxSize ?? 3000 }))
        .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
        .map((u) => Buffer.from(u)),
      mtime: fc.oneof(
        fc.constantFrom(0, 315_532_800, 1_700_000_001, 0x7fffffff),
        fc.integer({ min: 0, max: 0x7fffffff }),
      ),
      mode: fc.option(fc.constantFrom(0o100644, 0o100755, 0o100600, 0o100444), { nil: undefined }),
    }),
    { selector: (f) => f.name, maxLength: opts.maxFiles ?? 12 },
  ) as fc.Arbitrary<TestFile[]>;

/** Random inclusive ranges, scaled onto [0, total). */
export const ranges = fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 6 });

export const toRange = ([x, y]: [number, number], total: number): [number, number] => {
  const a = x % total;
  const b = y % total;
  return a <= b ? [a, b] : [b, a];
};

/** Expected MS-DOS (Y, M, D, h, m, s) in UTC, computed independently of the writer's bit packing. */
export const expectedDos = (mtime: number): number[] => {
  const d = new Date(mtime * 1000);
  if (d.getUTCFullYear() < 1980) return [1980, 1, 1, 0, 0, 0];
  return [
    d.getUTCFullYear(),
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds() - (d.getUTCSeconds() % 2),
  ];
};
