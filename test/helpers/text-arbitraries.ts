import fc from 'fast-check';

/**
 * Any code point, lone surrogate halves included, as fast-check's `unit: 'binary'` gives, but without the 2–3 s that
 * fast-check spends building that unit on first use (which was a quarter of a quick unit run). ASCII and the BMP are
 * weighted in, as names are mostly made of them.
 */
const anyCodePoint = fc
  .oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0x10ffff }))
  .map((c) => String.fromCodePoint(c));

/** Strings of any code points (lone surrogates included), at most `maxLength` of them. */
export const anyText = (maxLength: number) => fc.string({ unit: anyCodePoint, maxLength });
