import type { Locator, Page } from 'playwright-core';

/**
 * How the browser tests and the bench find things on the web export manager: by role and accessible name (the
 * page's stable English texts), as a person with a screen reader would, never by CSS class. One place to change
 * when a label changes.
 */
export const ui = {
  exportHash: (id: number) => `/exports/${id}`,
  filesHash: (id: number, prefix = '') =>
    `/exports/${id}/files${prefix ? `?prefix=${encodeURIComponent(prefix)}` : ''}`,
  heading: (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name }),
  exportList: (page: Page) => page.getByRole('table'),
  exportRows: (page: Page) => page.getByRole('table').locator('tbody').getByRole('row'),
  exportRow: (page: Page, name: string) =>
    page.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) }),
  tabs: (page: Page) => page.getByRole('navigation', { name: 'Sections' }),
  tab: (page: Page, name: 'Overview' | 'Definition' | 'Files' | 'Runs' | 'Event log') =>
    page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true }),
  filesTab: (page: Page) => ui.tab(page, 'Files'),
  fileEntry: (page: Page, name: string): Locator =>
    page.getByRole('row').filter({ has: page.getByRole('cell', { name, exact: true }) }),
  folderLink: (page: Page, name: string) => page.getByRole('link', { name: new RegExp(`^\\W*${escapeRe(name)}/$`) }),
  action: (page: Page, name: 'Start' | 'Stop' | 'Reset status' | 'Rotate passkey' | 'Delete') =>
    page.getByRole('group', { name: 'Actions' }).getByRole('button', { name, exact: true }),
  dialog: (page: Page) => page.getByRole('dialog'),
  confirm: (page: Page) => page.getByRole('dialog').getByRole('button', { name: 'Confirm' }),
  state: (page: Page) => page.getByRole('progressbar', { name: 'Progress' }),
  alert: (page: Page) => page.getByRole('alert'),
};

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Logs in through the form on the page it is on (the login screen) and waits until the form is gone. */
export async function loginThroughPage(page: Page, login: string, password: string): Promise<void> {
  await page.getByLabel('Login', { exact: true }).fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Password', { exact: true }).waitFor({ state: 'detached' });
}
