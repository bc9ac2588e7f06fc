// Settings → Change safety… in the web UI, like a user (issue 14): a vault over three
// locations, 2 of 3, gets two more (CLI), then the dialog shows the first run's words and
// arithmetic over the five, refuses what five can't do, and changes to "Critical" (survive 2,
// secret against 2: 3 of 5, t 3), re-coding the file; the vault key rotates, and the file
// exports byte for byte. Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/change-safety.test.ts
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, exportByDownload, initFolderVault, launchChromium, missingForBrowser, serve } from './helpers';

const PASS = 'amber tide lighthouse 58';
const missing = missingForBrowser();
if (missing) console.log(`change-safety e2e skipped: ${missing}`);

describe.skipIf(missing !== null)('Settings → Change safety in the web UI', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const content = new Uint8Array(randomBytes(200_000));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-safety-'));
    const names = ['usb', 'nas', 'cloud', 'nas2', 'offsite'];
    for (const dir of ['home', 'profile', 'browser', ...names]) mkdirSync(join(root, dir), { recursive: true });
    const env = { SHARDVAULT_HOME: join(root, 'profile'), HOME: join(root, 'home'), SHARDVAULT_PASSPHRASE: PASS };
    initFolderVault(root, names.slice(0, 3), env);
    const cli = (args: readonly string[]): void => {
      const r = spawnSync(process.execPath, ['bin/shardvault.mjs', ...args], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`${args.join(' ')} exited with ${r.status}:\n${r.stderr}`);
    };
    writeFileSync(join(root, 'taxes.pdf'), content);
    cli(['put', join(root, 'taxes.pdf')]);
    for (const n of names.slice(3)) cli(['location', 'add', `${join(root, n)}#${n}`]);
    served = await serve(env);
    context = await launchChromium(join(root, 'browser'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    await served?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('shows the live arithmetic over five locations and changes to 3 of 5, t 3', async () => {
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
    await page
      .getByRole('navigation')
      .getByRole('button', { name: /^Settings/ })
      .click();
    await page.getByRole('button', { name: 'Change safety…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change safety' });
    await dialog.waitFor();
    const summary = dialog.getByLabel('What this means');
    // The vault's own policy first: 2 of 3 over 5 locations reads as survive 1 → 4 of 5.
    await dialog.getByRole('button', { name: /Critical/ }).click();
    await expect
      .poll(() => summary.innerText())
      .toMatch(/Shards per file \(n\)\s*5[\s\S]*Needed to read \(k\)\s*3[\s\S]*Needed to unlock \(t\)\s*3/);
    await dialog.getByLabel('Survive losing').fill('3');
    await dialog.getByText(/Unlocking needs 3 locations, but after losing 3 only 2 would be left/).waitFor();
    await expect.poll(() => dialog.getByRole('button', { name: 'Change safety' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Survive losing').fill('2');
    await dialog.getByRole('button', { name: 'Change safety' }).click();
    await page
      .getByText(/Safety changed: 5 shards per file, any 3 rebuild it, 3 unlock it\. The vault key was replaced/)
      .waitFor({ timeout: 120_000 });
    await page.screenshot({ path: join('docs/screenshots', 'settings-change-safety.png'), fullPage: true });
    await page
      .getByRole('navigation')
      .getByRole('button', { name: /^Files/ })
      .click();
    const exported = await exportByDownload(page, 'taxes.pdf');
    expect(createHash('sha256').update(exported.bytes).digest('hex')).toBe(
      createHash('sha256').update(content).digest('hex'),
    );
    expect(pageErrors).toEqual([]);
  });
});
