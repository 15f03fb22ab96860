import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * docs/errors.md lists every error code with its meaning. This keeps it true: the codes are read from the sources
 * (every AppError construction and factory call in server/), so a new code without documentation fails here, and so
 * does a documented code nothing produces any more.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

// `new AppError(<status>, '<realm>', '<name>'` and the factories of server/domain/errors.ts. `\s*` spans line breaks.
const PATTERNS: [RegExp, (m: RegExpExecArray) => string][] = [
  [/new AppError\(\s*[^,]+,\s*'(api|user|server)',\s*'([a-z_]+)'/g, (m) => `error.${m[1]}.${m[2]}`],
  [/\bapiError\(\s*'([a-z_]+)'/g, (m) => `error.api.${m[1]}`],
  [/\buserError\(\s*[^,]+,\s*'([a-z_]+)'/g, (m) => `error.user.${m[1]}`],
  [/\bserverError\(\s*'([a-z_]+)'/g, (m) => `error.server.${m[1]}`],
  [/['`](error\.(?:api|user|server)\.[a-z_]+)['`]/g, (m) => m[1]],
];

/** Constructions whose code is not a literal; each must re-throw an existing error's code, reviewed by hand. */
const REVIEWED_DYNAMIC = [
  // errors.ts: the factories apiError / userError / serverError; their call sites are read by PATTERNS.
  /new AppError\(400, 'api', name, description, parameters\)/,
  /new AppError\(status, 'user', name, description, parameters\)/,
  /new AppError\(500, 'server', name, description, \{\}, \{ cause \}\)/,
  // registry.ts: a seed-form URL error re-thrown under the attribute the client sent, with the same realm and name.
  /new AppError\(err\.status, err\.realm, name,/,
];

function thrownCodes(): Set<string> {
  const codes = new Set<string>();
  for (const file of sourceFiles(join(root, 'server'))) {
    const src = readFileSync(file, 'utf8');
    for (const [re, code] of PATTERNS) for (const m of src.matchAll(re)) codes.add(code(m));
    // Every `new AppError(` must be understood: a literal code (matched above) or a reviewed re-throw.
    for (const m of src.matchAll(/new AppError\(/g)) {
      const rest = src.slice(m.index, m.index + 200);
      const literal = /^new AppError\(\s*[^,]+,\s*'(api|user|server)',\s*'[a-z_]+'/.test(rest);
      const reviewed = REVIEWED_DYNAMIC.some((re) => re.test(rest.split('\n')[0]));
      assert.ok(literal || reviewed, `${file}: an AppError whose code this test cannot read: ${rest.split('\n')[0]}`);
    }
  }
  return codes;
}

const documentedCodes = () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  // Rows of the table "Every code": `| <status> | `error.…` | meaning | parameters |`.
  return new Set([...doc.matchAll(/^\|[^|\n]*\| `(error\.[a-z]+\.[a-z_]+)` \|/gm)].map((m) => m[1]));
};

describe('docs/errors.md', () => {
  it('lists every error code the server can produce, and no other', () => {
    const thrown = thrownCodes();
    const documented = documentedCodes();
    // Guard against a regex that silently finds nothing.
    assert.ok(thrown.size >= 20, `only ${thrown.size} codes found in server/`);
    assert.deepEqual([...thrown].filter((c) => !documented.has(c)).sort(), [], 'codes missing from docs/errors.md');
    assert.deepEqual([...documented].filter((c) => !thrown.has(c)).sort(), [], 'documented codes nothing produces');
  });
});
