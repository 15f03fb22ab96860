import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROWSER_ERROR_KEYS, ERRORS, type ErrorCode } from '../../../server/domain/errors.js';

/**
 * docs/errors.md lists every error code with its meaning. This keeps it true: the table must equal the catalogue
 * ERRORS of server/domain/errors.ts (codes and statuses), and the sources (every AppError construction and factory
 * call in server/) must produce exactly the catalogue's codes, so a declared code nothing produces fails too.
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
  /new AppError\(\.\.\.\(\[status, 'user', name, description, parameters\] as AppErrorArgs\)\)/,
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

const doc = () => readFileSync(join(root, 'docs/errors.md'), 'utf8');

/** Rows of the table "Every code": `| <status> | `error.…` | meaning | parameters |`, code → status cell. */
const documentedRows = () =>
  new Map([...(doc().split('## Every code')[1] ?? '').split('\n## ')[0].matchAll(/^\|([^|\n]*)\| `(error\.[a-z]+\.[a-z_]+)` \|/gm)].map((m) => [m[2], m[1].trim()]));
const documentedCodes = () => new Set(documentedRows().keys());

describe('docs/errors.md', () => {
  it('lists exactly the codes of the catalogue, each with its statuses', () => {
    const rows = documentedRows();
    const declared = Object.keys(ERRORS) as ErrorCode[];
    assert.deepEqual([...rows.keys()].sort(), [...declared].sort());
    for (const code of declared) {
      const statuses: readonly number[] = ERRORS[code].statuses;
      // `400 / 415`; a code without fixed statuses (error.api.generic) is documented in words.
      const cell = rows.get(code) ?? '';
      const documented = /^\d{3}( \/ \d{3})*$/.test(cell) ? cell.split(' / ').map(Number) : [];
      assert.deepEqual(documented, [...statuses], `status column of ${code}`);
    }
  });

  it('documents every browser key, and the code of every fixed key', () => {
    const table = doc().split('## Browser-facing errors')[1] ?? '';
    for (const key of BROWSER_ERROR_KEYS) assert.match(table, new RegExp(`^\\| \`${key.replace(/\./g, '\\.')}\` \\|`, 'm'), key);
    for (const [code, spec] of Object.entries(ERRORS) as [ErrorCode, { browser?: unknown }][]) {
      if (typeof spec.browser !== 'string') continue;
      const row = table.split('\n').find((l) => l.startsWith(`| \`${spec.browser}\` |`)) ?? '';
      assert.ok(row.includes(code), `the row of ${spec.browser} names ${code}`);
    }
  });

  it('the server produces every code of the catalogue, and no other', () => {
    const thrown = thrownCodes();
    const documented = documentedCodes();
    // Guard against a regex that silently finds nothing.
    assert.ok(thrown.size >= 20, `only ${thrown.size} codes found in server/`);
    assert.deepEqual([...thrown].filter((c) => !documented.has(c)).sort(), [], 'codes missing from docs/errors.md');
    assert.deepEqual([...documented].filter((c) => !thrown.has(c)).sort(), [], 'documented codes nothing produces');
  });
});
