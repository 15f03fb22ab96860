import { spawnSync } from 'node:child_process';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

/** The exposition text parsed by a real Prometheus text-format parser (it throws on malformed input). */
export const parseMetrics = (text: string): ParsedFamily[] => parsePrometheusTextFormat(text);

/** One sample's value: the family by name, the sample whose labels include `labels`; undefined when absent. */
export function sample(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const s = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!s) return undefined;
  return Number(s.value ?? s.count);
}

/** `promtool check metrics` on the text: null when promtool is not installed, else its exit status and output. */
export function promtoolCheck(text: string): { status: number; output: string } | null {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return null;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/**
 * The `<name>_count` samples of a histogram with their labels. parse-prometheus-text-format folds a labelled
 * histogram's series into one (it keeps only the buckets), so counts are read from the sample lines themselves,
 * after the parser has accepted the whole text.
 */
export function histogramCounts(text: string, name: string): { labels: Record<string, string>; count: number }[] {
  const out: { labels: Record<string, string>; count: number }[] = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_count(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    out.push({ labels, count: Number(m[2]) });
  }
  return out;
}

export const histogramCount = (text: string, name: string, labels: Record<string, string>): number =>
  histogramCounts(text, name)
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.count, 0);

/**
 * promtool's findings that are prom-client's own default metrics' names (gauges named `_total`, kept by prom-client
 * for compatibility); any other finding is ours and fails.
 */
export const PROM_CLIENT_DEFAULT_FINDINGS = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
