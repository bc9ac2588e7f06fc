// Failure domains and the printable recovery kit in the web UI, like a user (issue 14):
// add a folder in a domain, put two more locations in it (one by the "same as" pick), see
// the dashboard warn in words, see the domains over the placement table, and print the
// recovery kit from Settings (window.print, the sheet alone on the printed page, no
// credential on it). Screenshots 34-36 land in docs/screenshots/.
// Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/domains.test.ts
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, initFolderVault, launchChromium, missingForBrowser, serve } from './helpers';

const SHOTS = 'docs/screenshots';
const PASSPHRASE = 'copper kettle morning 17';
const missing = missingForBrowser();
if (missing) console.log(`domains e2e skipped: ${missing}`);

describe.skipIf(missing !== null)('failure domains and the recovery kit in the web UI', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-domains-'));
    for (const dir of ['home/Downloads', 'profile', 'usb', 'nas', 'cloud', 'attic', 'browser'])
      mkdirSync(join(root, dir), { recursive: true });
    const env = { SHARDVAULT_HOME: join(root, 'profile'), HOME: join(root, 'home'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    initFolderVault(root, ['usb', 'nas', 'cloud'], env);
    served = await serve(env);
    context = await launchChromium(join(root, 'browser'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await served?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const nav = (label: string): Promise<void> =>
    page
      .getByRole('navigation')
      .getByRole('button', { name: new RegExp(`^${label}`) })
      .click();
  const tile = (name: string) => page.getByTestId(`location-${name}`);

  it('adds a folder in a failure domain', async () => {
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
    await nav('Locations');
    await page.getByRole('button', { name: 'Add location…' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Add a location' });
    await dialog.getByRole('textbox', { name: 'Folder' }).fill(join(root, 'attic'));
    await dialog.getByLabel('Failure domain (optional)').fill('home');
    await shot('34-add-location-domain');
    await dialog.getByRole('button', { name: 'Add location' }).click();
    await page.getByText(/^Added attic \(/).waitFor({ timeout: 60_000 });
    await expect.poll(() => tile('attic').getByTestId('tile-domain').innerText()).toBe('home');
    expect(await tile('usb').getByTestId('tile-domain').count()).toBe(0);
  });

  it('puts two more locations in it, and the dashboard says what a fire there costs', async () => {
    for (const name of ['usb', 'nas']) {
      await tile(name)
        .getByRole('button', { name: `Edit ${name}…` })
        .click();
      const dialog = page.getByRole('dialog', { name: `Edit ${name}` });
      // The vault's domains are offered as picks: "same building or provider as home".
      await dialog.getByRole('button', { name: 'Same building or provider as home' }).click();
      expect(await dialog.getByLabel('Failure domain (optional)').inputValue()).toBe('home');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.waitFor({ state: 'detached', timeout: 60_000 });
      await expect.poll(() => tile(name).getByTestId('tile-domain').innerText(), { timeout: 30_000 }).toBe('home');
    }
    await nav('Dashboard');
    const warning = page.getByTestId('domain-warning');
    await expect
      .poll(() => warning.first().innerText(), { timeout: 30_000 })
      .toBe(
        'Failure domains: usb, nas and attic are all in home: losing home loses 2 shards of each file; the vault survives losing 1.',
      );
  });

  it('shows the domains over the placement table', async () => {
    await nav('Files');
    const source = join(root, 'letters.bin');
    writeFileSync(source, randomBytes(300_000));
    await page.getByTestId('file-input').setInputFiles(source);
    await page.getByTestId('file-letters.bin').waitFor({ timeout: 60_000 });
    await page.getByTestId('file-letters.bin').getByRole('button', { name: 'Placement' }).click();
    const dialog = page.getByRole('dialog', { name: 'Placement of letters.bin' });
    await dialog.getByRole('table', { name: 'Shards by location' }).waitFor({ timeout: 30_000 });
    // Each location's column names its domain under its name.
    const headers = await page.evaluate<[string, string | null][]>(
      `[...document.querySelectorAll('dialog table.placement thead th')].map((th) => [
        th.firstChild?.textContent ?? '', th.querySelector('.domain-tag')?.textContent ?? null])`,
    );
    expect(headers).toEqual([
      ['Shard', null],
      ['usb', 'home'],
      ['nas', 'home'],
      ['cloud', null],
      ['attic', 'home'],
    ]);
    await shot('35-placement-domains');
    await dialog.getByRole('button', { name: 'Close' }).first().click();
  });

  it('prints the recovery kit from Settings: the sheet alone, no credential on it', async () => {
    await nav('Settings');
    // Count the prints instead of opening the browser's print dialog.
    await page.evaluate('window.printed = 0; window.print = () => { window.printed += 1; }');
    await page.getByRole('button', { name: 'Print recovery kit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Recovery kit' });
    const sheet = dialog.getByRole('article', { name: 'Shardvault recovery kit' });
    await sheet.waitFor({ timeout: 30_000 });
    const text = await sheet.innerText();
    expect(text).toMatch(/\b[0-9a-f]{32}\b/);
    expect(text).toContain(join(root, 'attic'));
    expect(await sheet.getByTestId('kit-location-usb').innerText()).toMatch(/usb\s+local\s+\S+\s+home/);
    expect(await sheet.getByTestId('kit-location-cloud').innerText()).toMatch(/cloud\s+local\s+\S+\s+—/);
    expect(text).toMatch(/any 2 of them give the file back/);
    expect(text).toMatch(/survives losing any 1 location, but not the loss of a whole domain/);
    expect(text).not.toContain(PASSPHRASE);
    await shot('36-recovery-kit');
    await dialog.getByRole('button', { name: 'Print…' }).click();
    expect(await page.evaluate<number>('window.printed')).toBe(1);
    // What the printer gets: the sheet, and nothing of the app around it.
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('.kit-print').isVisible()).toBe(true);
    expect(await page.getByRole('navigation').isVisible()).toBe(false);
    expect(await page.locator('.kit-print').innerText()).toContain('Recovery code');
    await page.emulateMedia({ media: 'screen' });
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    await dialog.waitFor({ state: 'detached' });
    expect(pageErrors).toEqual([]);
  });
});
