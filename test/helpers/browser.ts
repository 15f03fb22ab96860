import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** Debian's Chromium (`apt-get install chromium`); BROWSER_PATH points elsewhere (another Chromium build). */
export const CHROMIUM_PATH = process.env.BROWSER_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function browserMissing(): string | null {
  if (!existsSync(CHROMIUM_PATH)) {
    return `no Chromium at ${CHROMIUM_PATH}: the browser tests are skipped (install it with \`apt-get install chromium\`, or set BROWSER_PATH)`;
  }
  return null;
}

/**
 * `before` hook body for a browser suite: skips the whole suite with a message saying why when Chromium is missing.
 * CI installs Chromium, so there a skip shows up in the output instead of passing silently.
 */
export function skipWithoutBrowser(ctx: Mocha.Context): void {
  const why = browserMissing();
  if (!why) return;
  console.warn(`      ⚠ ${why}`);
  ctx.skip();
}

/** Headless Chromium as the tests and the bench use it; `--no-sandbox` only as root (Chromium refuses to start otherwise). */
export async function launchBrowser(): Promise<Browser> {
  const args = ['--disable-dev-shm-usage', '--disable-gpu'];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args, timeout: 60_000 });
}

export interface Problems {
  /** Console errors, uncaught page errors, CSP violations, failed requests of the page's own assets. */
  list: string[];
}

/**
 * A fresh context (no cookies, no sessionStorage) with one page, English unless `locale` says otherwise, a fixed
 * viewport so screenshots are comparable. Console errors, page errors and CSP refusals are collected in `problems`;
 * a test asserts on them where it matters (the page must not break its own Content-Security-Policy).
 */
export async function openPage(
  browser: Browser,
  opts: BrowserContextOptions = {},
): Promise<{ context: BrowserContext; page: Page; problems: Problems }> {
  const context = await browser.newContext({
    locale: 'en-US',
    timezoneId: 'Europe/Berlin',
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
    acceptDownloads: true,
    ...opts,
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: Problems = { list: [] };
  page.on('console', (m) => {
    // A failed load is reported below with its URL; the console's copy of it names none.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      problems.list.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400)
      problems.list.push(`HTTP ${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  page.on('pageerror', (e) => problems.list.push(`page error: ${e.message}`));
  return { context, page, problems };
}

/** Problems that are the page's fault: everything except the error statuses a test provokes on purpose. */
export function pageFaults(problems: Problems, allowed: RegExp[] = []): string[] {
  return problems.list.filter((p) => !allowed.some((re) => re.test(p)));
}

// ---- axe-core ---------------------------------------------------------------------------------------------------

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  helpUrl: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** Every scan of this process (screen → violations of any impact), for the summary the suite prints at its end. */
export const axeLog: { screen: string; violations: AxeViolation[] }[] = [];

/**
 * Runs axe-core (WCAG 2.0/2.1/2.2 A and AA plus best practices) on the page as it is now and fails on any serious or
 * critical violation, naming the rule, the help text and the elements. The script is evaluated through the DevTools
 * protocol, which the page's Content-Security-Policy does not govern, so the page keeps its real CSP during the scan.
 */
export async function expectAccessible(
  page: Page,
  screen: string,
  opts: { exclude?: string[] } = {},
): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(
    `axe.run(${JSON.stringify({ include: [['html']], exclude: (opts.exclude ?? []).map((s) => [s]) })}, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    })))`,
  )) as AxeViolation[];
  axeLog.push({ screen, violations });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length > 0) {
    const text = bad
      .map(
        (v) =>
          `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${v.nodes.map((n) => `      at ${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`).join('\n')}`,
      )
      .join('\n');
    throw new Error(
      `axe-core: ${bad.length} serious/critical accessibility violation(s) on the ${screen} screen:\n${text}`,
    );
  }
  return violations;
}

/** One line per screen: how many violations of each impact axe found (serious/critical ones already failed a test). */
export function axeSummary(): string {
  return axeLog
    .map(({ screen, violations }) => {
      const by = (i: string) => violations.filter((v) => v.impact === i);
      const minor = [...by('moderate'), ...by('minor')];
      return `${screen}: ${by('critical').length} critical, ${by('serious').length} serious, ${by('moderate').length} moderate, ${by('minor').length} minor${minor.length ? ` (${minor.map((v) => v.id).join(', ')})` : ''}`;
    })
    .join('\n');
}

// ---- screenshots ------------------------------------------------------------------------------------------------

/** `SCREENSHOTS=1 npx mocha test/browser/…` writes the README's pictures; ordinary runs (CI) write none. */
export const SCREENSHOT_DIR = process.env.SCREENSHOTS ? path.resolve('docs/screenshots') : null;

export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<void> {
  if (!SCREENSHOT_DIR) return;
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  // Nothing blinking or half-animated in a committed picture.
  await page.evaluate('document.activeElement && document.activeElement.blur && document.activeElement.blur()');
  await page.screenshot({
    path: path.join(SCREENSHOT_DIR, `${name}.png`),
    fullPage: opts.fullPage ?? false,
    animations: 'disabled',
    caret: 'hide',
  });
}

// ---- archives ---------------------------------------------------------------------------------------------------

/**
 * Opens a ZIP with Python's zipfile (an independent reader), verifies every entry's CRC (`testzip`) and returns the
 * entry names. Falls back to Info-ZIP `unzip -t` when Python is missing; throws when neither can check it.
 */
export async function zipEntries(file: string): Promise<string[]> {
  const script =
    'import sys, zipfile, json\nz = zipfile.ZipFile(sys.argv[1])\nbad = z.testzip()\nif bad: sys.exit("bad entry " + bad)\nprint(json.dumps(z.namelist()))';
  try {
    const { stdout } = await run('python3', ['-c', script, file]);
    return JSON.parse(stdout) as string[];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await run('unzip', ['-tq', file]);
  const { stdout } = await run('unzip', ['-Z1', file]);
  return stdout.split('\n').filter(Boolean);
}
