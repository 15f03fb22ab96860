import type { Knex } from 'knex';

/** Creates an export of all three formats through `create` and waits until its run is done (throws when it failed). */
export async function runAllFormats(db: Knex, create: () => Promise<{ id: number }>): Promise<void> {
  const exp = await create();
  for (;;) {
    const row = await db('exports').where({ id: exp.id }).first('state', 'failure_reason');
    if (row.state === 'done') return;
    if (row.state === 'failed') throw new Error(`bench run failed: ${row.failure_reason}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface BenchSection {
  /** Short id used on the command line: `npm run bench -- api`. */
  name: string;
  title: string;
  run(): Promise<void>;
}

/** One result line: figure, reference, ratio and target, so a reader sees at a glance whether it holds. */
export function report(label: string, value: number, unit: string, reference?: { label: string; value: number }, target?: string) {
  const v = `${fmt(value)} ${unit}`;
  if (!reference) {
    console.log(`   ${label.padEnd(44)} ${v.padStart(16)}${target ? `   target ${target}` : ''}`);
    return;
  }
  const ratio = reference.value > 0 ? value / reference.value : Number.NaN;
  console.log(
    `   ${label.padEnd(44)} ${v.padStart(16)}   vs ${reference.label} ${fmt(reference.value)} ${unit}   ratio ${ratio.toFixed(2)}×${target ? `   target ${target}` : ''}`,
  );
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2));
