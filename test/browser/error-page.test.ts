import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { BROWSER_ERROR_KEYS as KEYS } from '../../server/domain/files/browser-errors.js';
import { type BrowserApp, startBrowserApp } from '../helpers/browser-app.js';
import {
  expectAccessible,
  launchBrowser,
  openPage,
  pageFaults,
  screenshot,
  skipWithoutBrowser,
} from '../helpers/browser.js';

/** R-UI-2 in a real browser: `/#server_error:<key>` reads as a sentence in English and in German, and is accessible. */
describe('browser: the error page /#server_error:<key> (R-UI-2)', function () {
  this.timeout(120_000);
  let env: BrowserApp;
  let browser: Browser;

  before(async function () {
    skipWithoutBrowser(this);
    [env, browser] = await Promise.all([startBrowserApp(), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await env?.close();
  });

  for (const locale of ['en-US', 'de-DE']) {
    it(`shows a readable message for every key in ${locale}, never the raw key alone`, async () => {
      const { context, page, problems } = await openPage(browser, { locale });
      try {
        const seen = new Set<string>();
        for (const key of KEYS) {
          await page.goto(`${env.url}/#server_error:${key}`);
          const heading = page.getByRole('heading', { level: 1 });
          expect(await heading.count(), key).to.be.greaterThan(0);
          const title = (await heading.first().innerText()).trim();
          const body = (await page.locator('body').innerText()).trim();
          expect(title, key).not.to.equal('');
          expect(title, key).not.to.include(key);
          // A sentence beside the title: more than the heading and the key.
          expect(body.replace(title, '').replace(key, '').trim().length, key).to.be.greaterThan(20);
          seen.add(title);
          expect(await page.evaluate('document.documentElement.lang')).to.equal(locale.slice(0, 2));
        }
        // Each key has its own message.
        expect(seen.size).to.equal(KEYS.length);
        if (locale === 'de-DE') {
          await page.goto(`${env.url}/#server_error:export.invalid.passkey`);
          expect(await page.locator('body').innerText()).to.match(/Download-Link/);
        }
        await expectAccessible(page, `error page (${locale})`);
        await screenshot(page, `error-page-${locale.slice(0, 2)}`);
        expect(pageFaults(problems)).to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }

  it('an unknown key shows the generic message, not a blank page', async () => {
    const { context, page } = await openPage(browser);
    try {
      await page.goto(`${env.url}/#server_error:no.such.key`);
      const title = await page.getByRole('heading', { level: 1 }).first().innerText();
      expect(title.trim()).not.to.equal('');
      expect(title).not.to.include('no.such.key');
    } finally {
      await context.close();
    }
  });
});
