import { expect } from 'chai';
import { AppError } from '../../../server/domain/errors.js';
import { parseFieldPath } from '../../../server/domain/search/field-path.js';
import {
  jsonpathAccessor,
  jsonpathIn,
  jsonpathLiteral,
  jsonpathRange,
} from '../../../server/domain/search/jsonpath.js';
import { wildcardToLike } from '../../../server/domain/search/wildcard.js';

describe('search field paths, jsonpath texts and wildcards', () => {
  it('R-DATA-3 system fields map to columns; qualified ones keep the objecttype restriction', () => {
    expect(parseFieldPath('_id', ['photo'], 'p')).to.deep.equal({
      kind: 'column',
      column: 'id',
      type: 'int',
      objecttype: null,
    });
    expect(parseFieldPath('photo._changed_at', ['photo', 'video'], 'p')).to.deep.equal({
      kind: 'column',
      column: 'changed_at',
      type: 'timestamp',
      objecttype: 'photo',
    });
  });

  it('R-DATA-3 data paths: restriction dropped when the definition has only that objecttype, any type when empty', () => {
    expect(parseFieldPath('photo.meta.width', ['photo'], 'p')).to.deep.equal({
      kind: 'data',
      segments: ['meta', 'width'],
      objecttype: null,
    });
    expect(parseFieldPath('photo.image._id', [], 'p')).to.deep.equal({
      kind: 'data',
      segments: ['image', '_id'],
      objecttype: 'photo',
    });
    expect(parseFieldPath('photo.a-b_C9', ['photo', 'video'], 'p').objecttype).to.equal('photo');
  });

  it('R-DATA-3 refuses anything outside the grammar with invalid_value and the given path', () => {
    for (const raw of [
      '',
      'photo',
      '_nope',
      'photo.',
      '.a',
      'photo.a.',
      'photo."a"',
      "photo.a'--",
      'photo.a[0]',
      'photo.$',
      'photo.é',
      `photo.${'a'.repeat(64)}`,
    ]) {
      try {
        parseFieldPath(raw, [], 'search.sort[0].field');
        expect.fail(`accepted ${raw}`);
      } catch (e) {
        expect(e).to.be.instanceOf(AppError);
        expect((e as AppError).code).to.equal('error.api.invalid_value');
        expect((e as AppError).parameters.path).to.equal('search.sort[0].field');
      }
    }
  });

  it('R-DATA-3 jsonpath texts quote member names and render literals safely', () => {
    expect(jsonpathAccessor(['meta', 'width'])).to.equal('$."meta"."width"[*]');
    expect(jsonpathLiteral('a"b\\c\n')).to.equal('"a\\"b\\\\c\\n"');
    expect(jsonpathLiteral(-0)).to.equal('0');
    expect(jsonpathLiteral(1e21)).to.equal('1e+21');
    expect(jsonpathLiteral(null)).to.equal('null');
    expect(() => jsonpathLiteral(Number.NaN)).to.throw(TypeError);
    expect(jsonpathIn(['t'], ['x', 5, true])).to.equal('$."t"[*] ? (@ == "x" || @ == 5 || @ == true)');
    expect(jsonpathRange(['d'], '2024-01-01', '2024-02-01')).to.equal(
      '$."d"[*] ? (@ >= "2024-01-01" && (@ <= "2024-02-01" || @ starts with "2024-02-01"))',
    );
    expect(jsonpathRange(['n'], undefined, 3)).to.equal('$."n"[*] ? (@ <= 3)');
  });

  it('R-DATA-3 wildcard: * and ? translate, LIKE metacharacters and backslash are escaped', () => {
    expect(wildcardToLike('a*b?c')).to.equal('a%b_c');
    expect(wildcardToLike('100%_x')).to.equal('100\\%\\_x');
    expect(wildcardToLike('a\\*b\\?')).to.equal('a*b?');
    expect(wildcardToLike('back\\\\slash')).to.equal('back\\\\slash');
    expect(wildcardToLike('trailing\\')).to.equal('trailing\\\\');
  });
});
