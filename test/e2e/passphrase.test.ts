// Settings → Change passphrase in the web UI, like a user (issue 13): a wrong current
// passphrase and a weak new one are refused at the form; a change is reported per location;
// after locking, the old passphrase no longer unlocks and the new one does; replacing the
// recovery code shows the new one as a recovery kit, which then opens the vault on a new
// machine. Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/passphrase.test.ts
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, initFolderVault, launchChromium, missingForBrowser, serve } from './helpers';

const OLD = 'amber tide lighthouse 58';
const NEW = 'seven quiet otters fold maps';
const NEWER = 'copper kettle hums at dawn';
const missing = missingForBrowser();
if (missing) console.log(`passphrase e2e skipped: ${missing}`);

describe.skipIf(missing !== null)('Settings → Change passphrase in the web UI', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const locations = ['usb', 'nas', 'cloud'];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-passphrase-'));
    for (const dir of ['home', 'profile', 'browser', ...locations]) mkdirSync(join(root, dir), { recursive: true });
    const env = { SHARDVAULT_HOME: join(root, 'profile'), HOME: join(root, 'home'), SHARDVAULT_PASSPHRASE: OLD };
    initFolderVault(root, locations, env);
    served = await serve(env); // $SHARDVAULT_PASSPHRASE set: it starts unlocked
    context = await launchChromium(join(root, 'browser'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    await served?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const form = () => page.getByRole('form', { name: 'Change passphrase' });
  const fill = async (current: string, next: string, again = next): Promise<void> => {
    await form().getByLabel('Current passphrase').fill(current);
    await form().getByLabel('New passphrase', { exact: true }).fill(next);
    await form().getByLabel('New passphrase again').fill(again);
  };
  const keyShares = (): string[][] =>
    locations.map((d) => readdirSync(join(root, d, 'keys')).filter((n) => /^\d{10}$/.test(n)));

  it('refuses a wrong current passphrase and a weak new one, then changes it', async () => {
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
    await page
      .getByRole('navigation')
      .getByRole('button', { name: /^Settings/ })
      .click();
    await form().waitFor();

    await fill('not the passphrase at all', NEW);
    await form().getByRole('button', { name: 'Change passphrase' }).click();
    await page.getByText('wrong passphrase').waitFor({ timeout: 30_000 });
    expect(keyShares()).toEqual([['0000000001'], ['0000000001'], ['0000000001']]);

    await fill(OLD, 'password123');
    await form().getByRole('button', { name: 'Change passphrase' }).click();
    await form()
      .getByText(/too easy to guess/)
      .waitFor({ timeout: 30_000 });
    expect(keyShares()).toEqual([['0000000001'], ['0000000001'], ['0000000001']]);

    await fill(OLD, NEW, `${NEW}x`);
    expect(await form().getByText('The two passphrases differ.').count()).toBe(1);
    await expect.poll(() => form().getByRole('button', { name: 'Change passphrase' }).isDisabled()).toBe(true);

    await fill(OLD, NEW);
    await form().getByRole('button', { name: 'Change passphrase' }).click();
    await page
      .getByText('Passphrase changed on usb, nas, cloud. The old passphrase no longer unlocks.')
      .waitFor({ timeout: 60_000 });
    expect(keyShares()).toEqual([['0000000002'], ['0000000002'], ['0000000002']]);
    await page.screenshot({ path: join('docs/screenshots', 'settings-change-passphrase.png'), fullPage: true });
  });

  it('after locking, the old passphrase is refused and the new one unlocks', async () => {
    await page.getByRole('button', { name: 'Lock now' }).click();
    await page.getByRole('heading', { name: 'Vault locked' }).waitFor({ timeout: 30_000 });
    const input = page.getByLabel('Passphrase', { exact: true });
    await input.fill(OLD);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByText('That passphrase did not unlock the vault.', { exact: false }).waitFor({ timeout: 30_000 });
    await input.fill(NEW);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
  });

  it('replacing the recovery code shows the new kit once; the new code opens the vault elsewhere', async () => {
    await page
      .getByRole('navigation')
      .getByRole('button', { name: /^Settings/ })
      .click();
    await fill(NEW, NEWER);
    await form()
      .getByLabel(/Also replace the recovery code/)
      .check();
    await form().getByRole('button', { name: 'Change passphrase' }).click();
    const code = page.getByTestId('recovery-code');
    await code.waitFor({ timeout: 60_000 });
    const newCode = (await code.innerText()).replace(/\s+/g, '');
    expect(newCode).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
    await page.getByLabel(/I have written down/).check();
    await page.getByRole('button', { name: 'Continue to the vault' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
    expect(pageErrors).toEqual([]);

    // The serving process holds the profile; a new machine (another profile) opens with the code.
    const open = spawnSync(
      process.execPath,
      ['bin/shardvault.mjs', 'open', ...locations.flatMap((d) => ['--location', join(root, d)]), '--recovery'],
      {
        env: {
          ...process.env,
          SHARDVAULT_HOME: join(root, 'other-machine'),
          SHARDVAULT_RECOVERY_CODE: newCode,
          SHARDVAULT_PASSPHRASE: 'a passphrase for the other machine',
        },
        encoding: 'utf8',
      },
    );
    expect(open.status, open.stderr).toBe(0);
  });
});
