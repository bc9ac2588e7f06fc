// First run in the web UI with a folder that is not there yet (issue 10, item 6), like a user:
// each folder is checked as soon as it is listed, so a missing one shows at its own row with
// "Create it" (the engine makes its last folder, never a missing parent); one whose parent is
// missing (a disk not mounted) says so at its row; a vault made over a missing folder is
// refused with the refusal at that folder's row; after "Create it" the vault is made. Adding
// a missing folder to the living vault offers "Create it" too.
// Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/create-folder.test.ts
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, launchChromium, missingForBrowser, serve } from './helpers';

const PASSPHRASE = 'granite harbour evening 58';
const missing = missingForBrowser();
if (missing) console.log(`create-folder e2e skipped: ${missing}`);

describe.skipIf(missing !== null)('a missing folder in the first-run form', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-create-'));
    for (const dir of ['profile', 'usb', 'nas', 'media/cloud', 'browser'])
      mkdirSync(join(root, dir), { recursive: true });
    served = await serve({ SHARDVAULT_HOME: join(root, 'profile') });
    context = await launchChromium(join(root, 'browser'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    await served?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const row = (n: number) => page.getByTestId(`location-row-${n}`);
  const form = () => page.getByRole('form', { name: 'Create a vault' });

  it('checks each folder as it is listed: a missing one says so at its row, with Create it', async () => {
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Welcome to Shardvault' }).waitFor({ timeout: 30_000 });
    const input = form().getByLabel('Add a location');
    for (const path of [
      join(root, 'usb'),
      join(root, 'nas'),
      join(root, 'media/cloud/vault'),
      join(root, 'gone/vault'),
    ]) {
      await input.fill(path);
      await input.press('Enter');
    }
    await expect.poll(() => row(3).innerText(), { timeout: 30_000 }).toContain('This folder does not exist yet');
    expect(
      await row(3)
        .getByRole('button', { name: `Create ${join(root, 'media/cloud/vault')}` })
        .count(),
    ).toBe(1);
    // A missing parent is never made: the row says why, and offers nothing to create.
    await expect.poll(() => row(4).innerText(), { timeout: 30_000 }).toContain('is the disk mounted?');
    expect(
      await row(4)
        .getByRole('button', { name: /^Create / })
        .count(),
    ).toBe(0);
    for (const n of [1, 2]) {
      expect(await row(n).innerText()).not.toMatch(/does not exist|Checking/);
      expect(await row(n).getAttribute('class')).toBeNull();
    }
    expect(existsSync(join(root, 'media/cloud/vault'))).toBe(false);
    mkdirSync('docs/screenshots', { recursive: true });
    await page.screenshot({ path: 'docs/screenshots/33-missing-folder.png' });
  });

  it('refuses to make a vault over the missing folder, and marks its row', async () => {
    await row(4)
      .getByRole('button', { name: /^Remove / })
      .click();
    await form().getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await form().getByLabel('Confirm passphrase').fill(PASSPHRASE);
    await form().getByRole('button', { name: 'Create vault' }).click();
    const refusal = row(3).getByRole('alert');
    await refusal.waitFor({ timeout: 60_000 });
    expect(await refusal.innerText()).toContain(join(root, 'media/cloud/vault'));
    expect(await row(3).getAttribute('class')).toBe('location-trouble');
    expect(await row(1).getByRole('alert').count()).toBe(0);
    // Nothing was written anywhere.
    expect(readdirSync(join(root, 'usb'))).toEqual([]);
    expect(readdirSync(join(root, 'nas'))).toEqual([]);
  });

  it('makes the folder with Create it, and then the vault', async () => {
    await row(3)
      .getByRole('button', { name: /^Create / })
      .click();
    await expect.poll(() => row(3).innerText(), { timeout: 30_000 }).toContain('Created.');
    const made = statSync(join(root, 'media/cloud/vault'));
    expect(made.isDirectory()).toBe(true);
    expect(made.mode & 0o777).toBe(0o700);
    await form().getByRole('button', { name: 'Create vault' }).click();
    await page.getByTestId('recovery-code').waitFor({ timeout: 60_000 });
    expect(readdirSync(join(root, 'media/cloud/vault'))).toContain('shardvault.json');
    expect(pageErrors).toEqual([]);
  });

  it('offers Create it when a folder added to the living vault is missing, then adds it', async () => {
    await page.getByLabel(/I have written down/).check();
    await page.getByRole('button', { name: 'Continue to the vault' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
    await page
      .getByRole('navigation')
      .getByRole('button', { name: /^Locations/ })
      .click();
    await page.getByRole('button', { name: 'Add location…' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Add a location' });
    const extra = join(root, 'media/extra');
    mkdirSync(extra);
    await dialog.getByRole('textbox', { name: 'Folder' }).fill(join(extra, 'vault'));
    await dialog.getByRole('button', { name: 'Add location' }).click();
    const offer = dialog.getByTestId('create-folder');
    await offer.waitFor({ timeout: 60_000 });
    expect(await offer.innerText()).toContain(`${join(extra, 'vault')} does not exist yet.`);
    expect(existsSync(join(extra, 'vault'))).toBe(false);
    await offer.getByRole('button', { name: 'Create it' }).click();
    await offer.waitFor({ state: 'detached', timeout: 30_000 });
    expect(statSync(join(extra, 'vault')).isDirectory()).toBe(true);
    await dialog.getByRole('button', { name: 'Add location' }).click();
    await page.getByText(/^Added vault \(/).waitFor({ timeout: 60_000 });
    expect(readdirSync(join(extra, 'vault'))).toContain('shardvault.json');
    expect(pageErrors).toEqual([]);
  });
});
