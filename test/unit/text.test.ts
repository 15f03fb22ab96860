import { expect } from 'chai';
import fc from 'fast-check';
import { isAppError } from '../../server/domain/errors.js';
import { assertValidText, storableJson, text, textProblem } from '../../server/domain/text.js';
import { runs } from '../helpers/thorough.js';

const pathOf = (value: unknown, base = ''): string | null => {
  try {
    assertValidText(value, base);
    return null;
  } catch (e) {
    if (!isAppError(e)) throw e;
    expect(e.code).to.equal('error.api.invalid_value');
    return e.parameters.path as string;
  }
};

describe('domain/text: valid Unicode without NUL (R-ROB-6)', () => {
  it('accepts ordinary text, emoji (surrogate pairs) and the empty string', () => {
    for (const s of ['', 'abc', 'Grüße', '😀 a 😀', '\u202e', '\uFFFD']) expect(textProblem(s), s).to.equal(null);
  });

  it('refuses NUL and lone surrogates, wherever they are', () => {
    for (const s of ['\u0000', 'a\u0000', '\ud800', '\udfff', 'a\ud83d', '\ude00b', '\ude00\ud83d']) {
      expect(textProblem(s), JSON.stringify(s)).to.be.a('string');
    }
  });

  it('names the path of the first bad string or key, keys escaped, and refuses __proto__ keys', () => {
    expect(pathOf({ export: { custom_data: [{ key: 'k', value: 'a\u0000' }] } })).to.equal('export.custom_data[0].value');
    expect(pathOf({ a: { 'b\u0000': 1 } })).to.equal('a.b\\u0000');
    expect(pathOf({ a: { 'x\udfff': 1 } })).to.equal('a.x\\udfff');
    expect(pathOf({ a: ['ok', { '😀': 'fine' }] })).to.equal(null);
    expect(pathOf(JSON.parse('{"a": {"__proto__": {"x": 1}}}'))).to.equal('a.__proto__');
    expect(pathOf('\ud800', 'login')).to.equal('login');
  });

  it('walks 100,000 levels of nesting without overflowing the stack', () => {
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(pathOf(deep)).to.match(/^(\[0\]){100000}$/);
  });

  it('text() is the zod type of the same rule', () => {
    expect(text().safeParse('fine').success).to.equal(true);
    expect(text().safeParse('a\u0000').success).to.equal(false);
    expect(text().max(3).safeParse('\udfff').success).to.equal(false);
  });

  it('storableJson replaces NUL and lone surrogates by U+FFFD and keeps everything else (property)', () => {
    expect(JSON.parse(storableJson({ m: 'a\u0000b\udfff😀' }))).to.deep.equal({ m: 'a\uFFFDb\uFFFD😀' });
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }), (v, s) => {
        const out = JSON.parse(storableJson({ v, s }));
        expect(textProblem(out.s)).to.equal(null);
        if (textProblem(s) === null) expect(out.s).to.equal(s);
        expect(out.v).to.deep.equal(JSON.parse(JSON.stringify(v)));
      }),
      { seed: 9, numRuns: runs(300) },
    );
  });
});
