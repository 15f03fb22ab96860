import { expect } from 'chai';
import { mapInSlices } from '../../../server/domain/produce/big-strings.js';
import { csvCellEncoder, resolveCsvOptions } from '../../../server/domain/produce/index.js';
import { xmlText } from '../../../server/domain/produce/xml-writer.js';

describe('produce/big-strings', () => {
  it('escaping a huge value in slices gives the same result as escaping it whole, pairs intact', () => {
    const unit = 'ab<&"\r 😀\uD800x';
    const big = unit.repeat(100_000); // 1.2 M characters, a lone surrogate and an emoji in every unit
    const whole = big.replace(/[\uD800-\uDFFF]/gu, '').replace(/[&<>\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' })[c]!);
    expect(xmlText(big) === whole).to.equal(true);
    const encode = csvCellEncoder(resolveCsvOptions({ quote: '😀' }));
    expect(encode(big) === `😀${big.replaceAll('😀', '😀😀')}😀`).to.equal(true);
    let calls = 0;
    const identity = (p: string) => {
      calls++;
      return p;
    };
    expect(mapInSlices(big, identity) === big).to.equal(true);
    expect(calls).to.be.greaterThan(10);
  });
});
