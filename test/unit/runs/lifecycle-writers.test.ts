import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const SERVER = path.resolve('server');
const LIFECYCLE = path.join(SERVER, 'domain', 'runs', 'lifecycle.ts');

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });

/** Writes of a run's state or of the export's mirrored state: knex `.update({… state …})` on runs/exports, or SQL. */
function stateWrites(text: string): string[] {
  const found: string[] = [];
  const builder = /\(\s*'(runs|exports)'\s*\)([^;]*?)\.update\(\s*\{([^}]*)\}/gs;
  for (const m of text.matchAll(builder)) {
    if (/(^|[\s,{])(state|failure_reason)\s*:/.test(m[3]!)) found.push(`${m[1]}: ${m[0].slice(0, 80)}`);
  }
  const sql = /update\s+(runs|exports)\s+(\w+\s+)?set\b[^`]*?\b(state|failure_reason)\s*=/gis;
  for (const m of text.matchAll(sql)) found.push(`${m[1]}: ${m[0].slice(0, 80)}`);
  return found;
}

/** Issue 10: one run life-cycle module is the only writer of `runs.state` and of the export's mirrored state. */
describe('the run life cycle has one writer', () => {
  it('no module but runs/lifecycle.ts writes runs.state or exports.state', () => {
    const offenders = sources(SERVER)
      .filter((f) => f !== LIFECYCLE)
      .flatMap((f) => stateWrites(readFileSync(f, 'utf8')).map((w) => `${path.relative(SERVER, f)}: ${w}`));
    expect(offenders).to.deep.equal([]);
  });

  it('the check finds such writes (it can fail)', () => {
    const text = readFileSync(LIFECYCLE, 'utf8');
    expect(stateWrites(text).length).to.be.greaterThan(5);
    expect(stateWrites("await trx('exports').where({ id }).update({ state: 'new' });")).to.have.length(1);
    expect(stateWrites("update runs set state = 'failed' where id = 1")).to.have.length(1);
  });
});
