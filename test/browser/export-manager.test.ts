import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { expect } from 'chai';
import type { Browser, Download, Page } from 'playwright-core';
import { eventually } from '../helpers/app.js';
import { type ApiUser, type BrowserApp, png, startBrowserApp } from '../helpers/browser-app.js';
import {
  axeSummary,
  expectAccessible,
  launchBrowser,
  openPage,
  pageFaults,
  type Problems,
  screenshot,
  skipWithoutBrowser,
  zipEntries,
} from '../helpers/browser.js';
import { loginThroughPage, ui } from '../helpers/page-model.js';

type Obj = Record<string, any>;

/** Status codes the tests provoke on purpose (a wrong password); anything else in `problems` is the page's fault. */
const PROVOKED = [/HTTP 400 POST \/api\/v1\/session\/authenticate/];

/**
 * R-UI-1/R-UI-3 end to end: the built page in headless Chromium against the real server (real PostgreSQL, real
 * worker and producer), data set up through the API. Each test opens its own browser context (no shared session),
 * scans what it shows with axe-core and, with SCREENSHOTS=1, photographs it for the README.
 */
describe('browser: the web export manager end to end (R-UI)', function () {
  this.timeout(180_000);
  let env: BrowserApp;
  let browser: Browser;
  let alice: ApiUser;
  let photos: Obj;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'em-browser-'));

  /** A fresh context, logged in through the form, on `hash` (the export list by default). */
  const signedIn = async (hash = '/exports', opts: Parameters<typeof openPage>[1] = {}) => {
    const opened = await openPage(browser, opts);
    await opened.page.goto(`${env.url}/#${hash}`);
    await loginThroughPage(opened.page, alice.login, alice.password);
    return opened;
  };
  const noFaults = (problems: Problems, allowed: RegExp[] = []) =>
    expect(
      pageFaults(problems, [...PROVOKED, ...allowed]),
      'console errors, CSP refusals or failed requests',
    ).to.deep.equal([]);
  const saved = async (download: Download, name: string) => {
    const file = path.join(tmp, name);
    await download.saveAs(file);
    expect(await download.failure()).to.equal(null);
    return file;
  };
  /** The export's state as the page shows it (badge and overview say it alike). */
  const stateShown = (page: Page, state: string) => page.getByText(state, { exact: true }).first();

  before(async function () {
    skipWithoutBrowser(this);
    [env, browser] = await Promise.all([startBrowserApp(), launchBrowser()]);
    alice = await env.user('alice');
    const sunset = await alice.upload('sunset.png', png(1));
    const dawn = await alice.upload('dawn.png', png(2));
    await alice.save('photo', [
      { title: 'Sunset over Köln', place: 'Köln', image: [{ _id: sunset._id }] },
      { title: 'Dawn at the lake', place: 'Plön', image: [{ _id: dawn._id }] },
      { title: 'Night sky', place: 'Köln' },
    ]);
    // Published through the API: the subject of the files, links and passkey tests.
    const created = await alice.createExport(
      { name: 'Photos', csv: true, json: true, eas_fields: { 'photo.image': { files: true } } },
      { _transports: [{ type: 'download', packer: 'zip' }] },
    );
    photos = await alice.settled(created.export._id);
    expect(photos._state).to.equal('done');
  });
  after(async () => {
    if (process.env.AXE_REPORT) console.log(`\naxe-core results per screen:\n${axeSummary()}`);
    await browser?.close();
    await env?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('logs in (a wrong password is said in a sentence), lists the exports with state badges and filters them', async () => {
    const { context, page, problems } = await openPage(browser);
    try {
      await page.goto(`${env.url}/`);
      await ui.heading(page, 'Log in').waitFor();
      await expectAccessible(page, 'login');
      await screenshot(page, 'login');

      await page.getByLabel('Login', { exact: true }).fill(alice.login);
      await page.getByLabel('Password', { exact: true }).fill('not her password');
      await page.getByRole('button', { name: 'Log in' }).click();
      expect(await ui.alert(page).innerText()).to.equal('Login or password is wrong.');
      // What was typed stays; only the password is retyped.
      expect(await page.getByLabel('Login', { exact: true }).inputValue()).to.equal(alice.login);
      await loginThroughPage(page, alice.login, alice.password);

      await ui.heading(page, 'Exports').waitFor();
      const row = ui.exportRow(page, 'Photos');
      await row.waitFor();
      expect(await row.getByText('done', { exact: true }).count()).to.equal(1);
      expect(await page.evaluate('sessionStorage.length')).to.be.greaterThan(0);
      await expectAccessible(page, 'export list');
      await screenshot(page, 'export-list');
      // The dark theme (system setting) must keep its contrast too.
      await page.emulateMedia({ colorScheme: 'dark' });
      await expectAccessible(page, 'export list (dark)');
      await screenshot(page, 'export-list-dark');
      await page.emulateMedia({ colorScheme: 'light' });

      await page.getByLabel('State', { exact: true }).selectOption({ label: 'failed' });
      await page.getByText('No exports match.').waitFor();
      expect(page.url()).to.include('state=failed');
      await page.getByLabel('State', { exact: true }).selectOption({ label: 'done' });
      await row.waitFor();
      await page.getByLabel('Type', { exact: true }).selectOption({ label: 'Download' });
      await page.getByText('No exports match.').waitFor();
      noFaults(problems);
    } finally {
      await context.close();
    }
  });

  it('browses the files, downloads a file and a folder as ZIP (checked with a ZIP reader)', async () => {
    const { context, page, problems } = await signedIn(ui.exportHash(photos.export._id));
    try {
      await ui.heading(page, 'Photos').waitFor();
      await ui.filesTab(page).click();
      const csv = ui.fileEntry(page, 'objects.csv');
      await csv.waitFor();
      const listed = (photos._files as Obj[]).find((f) => f.path === 'objects.csv')!;
      expect(await csv.innerText()).to.include(listed.sha256);
      await expectAccessible(page, 'files');
      await screenshot(page, 'files');

      const [file] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download objects.csv' }).click(),
      ]);
      expect(file.suggestedFilename()).to.equal('objects.csv');
      const bytes = await readFile(await saved(file, 'objects.csv'));
      expect(bytes.length).to.equal(listed.size);
      expect(bytes.toString('utf8')).to.include('Sunset over Köln');

      // Into the asset folders, with a breadcrumb back.
      await ui.folderLink(page, 'files').click();
      await ui.folderLink(page, 'photo').click();
      await ui.folderLink(page, 'image').click();
      const crumbs = page.getByRole('navigation', { name: 'Folder path' });
      expect((await crumbs.innerText()).replace(/\s+/g, ' '))
        .to.include('files')
        .and.include('photo')
        .and.include('image');
      const assets = (photos._files as Obj[]).filter((f) => f.path.startsWith('files/photo/image/'));
      expect(assets).to.have.length(2);
      for (const a of assets) await ui.fileEntry(page, path.basename(a.path)).waitFor();

      await crumbs.getByRole('link', { name: 'files', exact: true }).click();
      const [zip] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download this folder as ZIP' }).click(),
      ]);
      expect(zip.suggestedFilename()).to.match(/\.zip$/);
      const entries = await zipEntries(await saved(zip, 'folder.zip'));
      for (const a of assets)
        expect(
          entries.some((e) => e.endsWith(path.basename(a.path))),
          a.path,
        ).to.equal(true);
      expect(entries.some((e) => e.endsWith('objects.csv'))).to.equal(false);
      noFaults(problems);
    } finally {
      await context.close();
    }
  });

  it('the download link opens in a fresh browser without a session, and copies', async () => {
    const { context, page, problems } = await signedIn(ui.exportHash(photos.export._id));
    let link: string;
    try {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.url });
      const region = page.getByRole('region', { name: 'Download links' });
      const input = region.getByRole('textbox').first();
      await input.waitFor();
      link = await input.inputValue();
      expect(link).to.match(/\/download\/[^/]+\/.*Photos\.zip$/);
      await screenshot(page, 'export-overview');
      await region
        .getByRole('button', { name: /^Copy link/ })
        .first()
        .click();
      expect(await page.evaluate('navigator.clipboard.readText()')).to.equal(link);
      // Scanned while the button reads "Copied": its accessible name follows (axe: label-content-name-mismatch).
      await region.getByRole('button', { name: /^Copied/ }).first().waitFor();
      await expectAccessible(page, 'export overview');
      noFaults(problems);
    } finally {
      await context.close();
    }

    const anonymous = await openPage(browser);
    try {
      expect(await anonymous.context.cookies()).to.deep.equal([]);
      const [download] = await Promise.all([
        anonymous.page.waitForEvent('download'),
        anonymous.page.goto(link).catch((e: Error) => {
          // A navigation that becomes a download ends the goto with this message; it is the expected outcome.
          if (!/Download is starting/.test(e.message)) throw e;
        }),
      ]);
      expect(download.suggestedFilename()).to.equal('Photos.zip');
      const entries = await zipEntries(await saved(download, 'Photos.zip'));
      expect(entries).to.include('objects.csv').and.include('manifest.json');
    } finally {
      await anonymous.context.close();
    }
  });

  it('rotating the passkey (confirmed) changes the link; the old one lands on the German error page', async () => {
    const created = await alice.createExport(
      { name: 'Rotated', json: true },
      { _transports: [{ type: 'download', packer: 'zip' }] },
    );
    const id = created.export._id as number;
    const before = await alice.settled(id);
    const oldLink = new URL(before._transports[0]._download._files[0].url, env.url).href;

    const { context, page, problems } = await signedIn(ui.exportHash(id));
    try {
      await ui.action(page, 'Rotate passkey').click();
      await ui.dialog(page).waitFor();
      await expectAccessible(page, 'confirmation dialog');
      await screenshot(page, 'confirm-rotate');
      await ui.confirm(page).click();
      await page.getByText('The passkey was rotated; the download links changed.').waitFor();
      const input = page.getByRole('region', { name: 'Download links' }).getByRole('textbox').first();
      await eventually(async () => (await input.inputValue()) !== oldLink, 10_000);
      noFaults(problems);
    } finally {
      await context.close();
    }

    const german = await openPage(browser, { locale: 'de-DE' });
    try {
      await german.page.goto(oldLink);
      expect(new URL(german.page.url()).hash).to.equal('#server_error:export.invalid.passkey');
      const messages = JSON.parse(await readFile(new URL('../../web/src/server-errors.json', import.meta.url), 'utf8'));
      const [title, text] = messages['export.invalid.passkey'].de as [string, string];
      await ui.heading(german.page, title).waitFor();
      expect(await german.page.locator('body').innerText()).to.include(text);
      expect(await german.page.evaluate('document.documentElement.lang')).to.equal('de');
      await expectAccessible(german.page, 'error page (de)');
      await screenshot(german.page, 'old-link-de');
      noFaults(german.problems);
    } finally {
      await german.context.close();
    }
  });

  it('creates an export with a search, a schedule and a download transport; a validation error shows at its field', async () => {
    const { context, page, problems } = await signedIn();
    try {
      await page.getByRole('link', { name: 'New export' }).click();
      await ui.heading(page, 'New export').waitFor();
      await expectAccessible(page, 'new export (editor)');
      const form = page.getByRole('form', { name: 'Definition' });
      await form.getByLabel('Name', { exact: true }).fill('Sunsets');
      await form.getByLabel('CSV', { exact: true }).check();

      // The search builder, with its live preview of the matching objects.
      await form.getByLabel('Object types', { exact: true }).fill('photo');
      await form.getByRole('button', { name: 'Add condition' }).click();
      const condition = form.getByRole('group', { name: 'Condition 1' });
      await condition.getByLabel('Fields', { exact: true }).fill('photo.title');
      await condition.getByLabel('Text', { exact: true }).fill('Sunset');
      const preview = form.getByRole('region', { name: 'Preview' });
      await preview.getByText('1 objects match').waitFor();
      expect(await preview.innerText()).to.include('Sunset over Köln');

      // A schedule (weekly preset, its next fire times computed by the server), and a download transport.
      await form.getByRole('button', { name: 'Add schedule' }).click();
      const schedule = form.getByRole('group', { name: 'Schedule 1' });
      await schedule.getByLabel('Repeat', { exact: true }).selectOption({ label: 'Weekly' });
      await eventually(async () => (await schedule.getByRole('listitem').count()) === 5, 15_000);
      await form.getByRole('button', { name: 'Add transport' }).click();
      const transport = form.getByRole('group', { name: 'Transport 1' });
      await transport.getByLabel('Transport type', { exact: true }).selectOption('download');
      await transport.getByLabel('Packing', { exact: true }).selectOption('zip');
      // The search builder with its preview and the schedule with its next runs, in one picture.
      await form.getByRole('group', { name: 'Search', exact: true }).evaluate((el: any) => el.scrollIntoView());
      await screenshot(page, 'editor');

      // An invalid cron expression: the server's 400 names the attribute, the page marks that field and keeps the input.
      await schedule.getByLabel('Repeat', { exact: true }).selectOption({ label: 'Cron expression' });
      const cron = schedule.getByLabel('Cron', { exact: true });
      await cron.fill('every full moon');
      await form.getByRole('button', { name: 'Create export' }).click();
      await ui.alert(page).first().waitFor();
      expect(await ui.alert(page).first().innerText()).to.include('Your input is kept');
      await eventually(async () => (await cron.getAttribute('aria-invalid')) === 'true', 10_000);
      const described = (await cron.getAttribute('aria-describedby')) ?? '';
      const messages = await Promise.all(
        described
          .split(' ')
          .filter(Boolean)
          .map((id) => page.locator(`[id="${id}"]`).innerText()),
      );
      expect(messages.join(' ').trim(), 'the message at the cron field').to.match(/\w{3,}/);
      expect(await cron.inputValue()).to.equal('every full moon');
      expect(await form.getByLabel('Name', { exact: true }).inputValue()).to.equal('Sunsets');
      await expectAccessible(page, 'editor with a validation error');
      await screenshot(page, 'editor-validation-error');

      await cron.fill('0 6 * * 1');
      await form.getByRole('button', { name: 'Create export' }).click();
      await ui.heading(page, 'Sunsets').waitFor();
      const id = Number(/#\/exports\/(\d+)/.exec(page.url())?.[1]);
      const created = await alice.view(id);
      expect(created._state).to.equal('new');
      expect(created.export.search.objecttypes).to.deep.equal(['photo']);
      expect(created.export.search.search[0]).to.include({ type: 'match', string: 'Sunset' });
      expect(created._schedules).to.deep.equal([{ cron: '0 6 * * 1' }]);
      expect(created._transports.map((t: Obj) => [t.type, t.packer])).to.deep.equal([['download', 'zip']]);
      expect(created.export.csv).to.not.equal(false);

      // Start it and follow the run live: held inside the producer at 40 %, then released to finish.
      env.hold.hold('Sunsets');
      await ui.tab(page, 'Overview').click();
      await ui.action(page, 'Start').click();
      const bar = page.getByRole('progressbar', { name: 'Progress' });
      await eventually(async () => (await bar.getAttribute('aria-valuenow')) === '40', 20_000);
      expect(await ui.action(page, 'Start').isDisabled()).to.equal(true);
      await stateShown(page, 'processing').waitFor();
      await expectAccessible(page, 'export running');
      await screenshot(page, 'export-running');
      env.hold.release('Sunsets');
      await stateShown(page, 'done').waitFor({ timeout: 30_000 });
      await eventually(async () => (await bar.getAttribute('aria-valuenow')) === '100', 10_000);
      const done = await alice.settled(id);
      expect(done._files.map((f: Obj) => f.path)).to.include('objects.csv');

      await ui.tab(page, 'Runs').click();
      const runs = page.getByRole('table', { name: 'Runs' });
      await runs.waitFor();
      expect(await runs.locator('tbody tr').count()).to.equal(1);
      expect(await runs.locator('tbody tr').first().innerText()).to.include('done');
      await expectAccessible(page, 'runs');
      await screenshot(page, 'runs');

      await ui.tab(page, 'Event log').click();
      const log = page.getByRole('table', { name: 'Event log' });
      await log.waitFor();
      expect(await log.innerText())
        .to.include('EXPORT_START')
        .and.include('EXPORT_FINISH');
      await expectAccessible(page, 'event log');

      await ui.tab(page, 'Definition').click();
      await page.getByRole('form', { name: 'Definition' }).waitFor();
      await expectAccessible(page, 'definition of a saved export');
      // The deliberate invalid cron above: its save, and the next-fire preview asked while it was typed, answer 400.
      noFaults(problems, [/HTTP 400 PUT \/api\/v1\/export$/, /HTTP 400 POST \/api\/v1\/schedule\/preview$/]);
    } finally {
      env.hold.release('Sunsets');
      await context.close();
    }
  });

  it('stops a long-running export after a confirmation', async () => {
    env.hold.hold('Long');
    const created = await alice.createExport({ name: 'Long', json: true });
    const id = created.export._id as number;
    await eventually(async () => env.hold.inside.has('Long'), 20_000);
    const { context, page, problems } = await signedIn(ui.exportHash(id));
    try {
      await stateShown(page, 'processing').waitFor();
      await ui.action(page, 'Stop').click();
      await ui.dialog(page).waitFor();
      await ui.confirm(page).click();
      await stateShown(page, 'failed').waitFor({ timeout: 20_000 });
      await page.getByText('stopped by user').waitFor();
      expect((await alice.view(id))._failure_reason).to.equal('stopped by user');
      await expectAccessible(page, 'export stopped');
      noFaults(problems);
    } finally {
      env.hold.release('Long');
      await context.close();
    }
  });

  it('an expired session returns to the login and, after it, back to where the user was', async () => {
    const { context, page, problems } = await signedIn(ui.exportHash(photos.export._id));
    try {
      await ui.heading(page, 'Photos').waitFor();
      await env.app.db('sessions').del();
      // The server keeps an authenticated session in a 2 s cache (R-PERF-4); after it the session is gone.
      await new Promise((r) => setTimeout(r, 2_500));
      await ui.tab(page, 'Runs').click();
      await ui.heading(page, 'Log in').waitFor();
      await page.getByText('Your session has expired. Please log in again.').waitFor();
      await loginThroughPage(page, alice.login, alice.password);
      await ui.heading(page, 'Photos').waitFor();
      expect(new URL(page.url()).hash).to.include(`/exports/${photos.export._id}`);
      // The expired session's 403 is what sends the page to the login.
      noFaults(problems, [/HTTP 403 GET \/api\/v1\/export/]);
    } finally {
      await context.close();
    }
  });

  it('logs out: the session ends on the server and the page asks for a login again', async () => {
    const { context, page, problems } = await signedIn();
    try {
      await ui.heading(page, 'Exports').waitFor();
      const token = (await page.evaluate('sessionStorage.getItem("em.token")')) as string;
      expect(token).to.be.a('string').and.not.equal('');
      await page.getByRole('button', { name: 'Log out' }).click();
      await ui.heading(page, 'Log in').waitFor();
      await page.getByText('You are logged out.').waitFor();
      expect(await page.evaluate('sessionStorage.getItem("em.token")')).to.equal(null);
      const session = await env.app.request.get('/api/v1/session').query({ token });
      expect(session.status === 400 || session.body.authenticated === false, JSON.stringify(session.body)).to.equal(
        true,
      );
      await page.goto(`${env.url}/#/exports`);
      await ui.heading(page, 'Log in').waitFor();
      noFaults(problems);
    } finally {
      await context.close();
    }
  });

  it('switches to German and back; the choice is kept', async () => {
    const { context, page, problems } = await signedIn();
    try {
      await ui.heading(page, 'Exports').waitFor();
      await page.getByLabel('Language').selectOption('de');
      await ui.heading(page, 'Exporte').waitFor();
      expect(await page.evaluate('document.documentElement.lang')).to.equal('de');
      await expectAccessible(page, 'export list (de)');
      await page.reload();
      await ui.heading(page, 'Exporte').waitFor();
      await page.getByLabel('Sprache').selectOption('en');
      await ui.heading(page, 'Exports').waitFor();
      noFaults(problems);
    } finally {
      await context.close();
    }
  });
});
