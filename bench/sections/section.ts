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
