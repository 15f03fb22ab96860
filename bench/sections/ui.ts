import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { createUser } from '../../server/domain/users/users-repo.js';
import { browserMissing, launchBrowser } from '../../test/helpers/browser.js';
import { loginThroughPage, ui } from '../../test/helpers/page-model.js';
import { startBenchServer } from '../env.js';
import { buildExport } from './files.js';
import { type BenchSection, report } from './section.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ROUNDS = 5;

/** Resolves once the page's main thread is free again: a frame was drawn and a task after it ran. */
const idle = (page: Page) => page.evaluate('new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))');

/**
 * R-UI bench (issue 13): the page's JavaScript + CSS gzipped; the first render of a list of 1,000 exports; the files
 * tab of an export of 100,000 files until it is interactive. In headless Chromium against the built page
 * (`npm run build`), the server on loopback; medians of 5, each beside its target.
 */
export const uiSection: BenchSection = {
  name: 'ui',
  title: 'web export manager in headless Chromium: bundle size, list of 1,000 exports, files tab of 100,000 files',
  async run() {
    const missing = browserMissing();
    if (missing) {
      console.log(`   skipped: ${missing}`);
      return;
    }
    const bench = await startBenchServer();
    const s = bench.services;
    const browser = await launchBrowser();
    try {
      // Bundle: every script and stylesheet the page loads (index.html and what it references, transitively via the
      // network log), gzipped at level 9 as a server or CDN would send it.
      {
        const page = await browser.newPage();
        const assets = new Map<string, Buffer>();
        page.on('response', async (r) => {
          const type = r.request().resourceType();
          if ((type === 'script' || type === 'stylesheet') && r.ok())
            assets.set(new URL(r.url()).pathname, await r.body());
        });
        await page.goto(bench.url, { waitUntil: 'networkidle' });
        await page.close();
        const raw = [...assets.values()].reduce((n, b) => n + b.length, 0);
        const gz = [...assets.values()].reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0);
        const js = [...assets]
          .filter(([p]) => p.endsWith('.js'))
          .reduce((n, [, b]) => n + gzipSync(b, { level: 9 }).length, 0);
        report(
          `page JS + CSS, gzipped (${assets.size} files)`,
          gz / 1024,
          'KB',
          { label: 'target', value: 150 },
          '≤ 150 KB',
        );
        report('  of which JavaScript', js / 1024, 'KB');
        report('  uncompressed', raw / 1024, 'KB');
      }

      const user = await createUser(s.db, { login: 'bench', password: 'bench-password' });
      const t0 = Date.now();
      const types = ['export', 'export_incremental', 'download'];
      const states = ['done', 'done', 'failed', 'new', 'done'];
      const rows = Array.from({ length: 1000 }, (_, i) => ({
        owner_id: user.id,
        type: types[i % 3],
        name: `Bench export ${String(i + 1).padStart(4, '0')}`,
        definition: JSON.stringify({}),
        passkey: `bench-list-${i}`,
        state: states[i % states.length],
      }));
      for (let i = 0; i < rows.length; i += 250) await s.db('exports').insert(rows.slice(i, i + 250));
      const huge = await buildExport(s, user.id, 'Hundred thousand files', 100_000, (i) => ({
        path: `f${String(i).padStart(6, '0')}.txt`,
        data: Buffer.from(`file ${i}\n`),
      }));
      console.log(`   (data built in ${((Date.now() - t0) / 1000).toFixed(1)} s: 1,000 exports, one of 100,000 files)`);

      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
      const page = await context.newPage();
      await page.goto(bench.url);
      await loginThroughPage(page, 'bench', 'bench-password');
      await ui.exportList(page).waitFor();

      // First render of the list: navigation → the rows drawn and the main thread free again. The page shows 50
      // exports a page by default; with "Per page: 1000" it draws all of them at once.
      for (const perPage of [50, 1000]) {
        const times: number[] = [];
        let drawn = 0;
        for (let r = 0; r < ROUNDS; r++) {
          const start = Date.now();
          await page.goto(`${bench.url}/?bench=${perPage}-${r}#/exports${perPage === 50 ? '' : `?limit=${perPage}`}`, {
            waitUntil: 'commit',
          });
          await page.waitForFunction(`document.querySelectorAll('table tbody tr').length >= ${perPage}`, undefined, {
            polling: 'raf',
            timeout: 30_000,
          });
          await idle(page);
          times.push(Date.now() - start);
          drawn = await ui.exportRows(page).count();
        }
        report(
          `list of 1,000 exports, first render, ${drawn} rows drawn`,
          median(times),
          'ms',
          { label: 'target', value: 1000 },
          '< 1 s',
        );
      }

      // Files tab: from the click on the tab of an open export until its first entries show and the page responds.
      const files: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        await page.goto(`${bench.url}/?bench=f${r}#${ui.exportHash(huge.id)}`, { waitUntil: 'commit' });
        await ui.filesTab(page).waitFor();
        await idle(page);
        const start = Date.now();
        await ui.filesTab(page).click();
        await ui.fileEntry(page, 'f000000.txt').waitFor();
        await idle(page);
        files.push(Date.now() - start);
      }
      report(
        'files tab of a 100,000-file export, interactive',
        median(files),
        'ms',
        { label: 'target', value: 1500 },
        '< 1.5 s',
      );
      const cold: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const start = Date.now();
        await page.goto(`${bench.url}/?bench=c${r}#${ui.filesHash(huge.id)}`, { waitUntil: 'commit' });
        await ui.fileEntry(page, 'f000000.txt').waitFor();
        await idle(page);
        cold.push(Date.now() - start);
      }
      report(
        '  same, opened by its address (page load included)',
        median(cold),
        'ms',
        { label: 'target', value: 1500 },
        '< 1.5 s',
      );
      await context.close();
    } finally {
      await browser.close();
      await bench.close();
    }
  },
};
