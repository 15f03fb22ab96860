/**
 * Translates a `match` wildcard string to a LIKE pattern (used with `ESCAPE '\'`, bound as a value).
 * `*` = any run of characters, `?` = one character, `\` escapes the next character (`\*` is a literal star).
 * LIKE's own metacharacters `%`, `_` and `\` in the input are escaped, so they match only themselves.
 */
export const wildcardToLike = (pattern: string): string => {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) {
      i++;
      out += escapeLikeChar(pattern[i]);
    } else if (c === '*') out += '%';
    else if (c === '?') out += '_';
    else out += escapeLikeChar(c);
  }
  return out;
};

const escapeLikeChar = (c: string): string => (c === '%' || c === '_' || c === '\\' ? '\\' + c : c);
