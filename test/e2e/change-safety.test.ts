// Settings → Change safety… in the web UI, like a user (issue 14): a vault over three
// locations, 2 of 3, gets two more (CLI), nas and the new nas2 in one failure domain, home;
// then the dialog shows the first run's words and the engine's arithmetic over the domains
// (what `policy set` does), refuses "Critical" (four domains can't lose 2 and keep 3), and
// changes to "Sensitive" (survive 1 domain, secret against 2: 3 of 5, t 3, where counting
// locations would give 4 of 5), re-coding the file; the vault key rotates, and the file exports
// byte for byte. Screenshot 37 and settings-change-safety land in docs/screenshots/.
// Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/change-safety.test.ts
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
    cli(['location', 'add', `${join(root, 'nas2')}#nas2`, '--domain', 'home']);
    cli(['location', 'add', `${join(root, 'offsite')}#offsite`]);
    cli(['location', 'edit', 'nas', '--domain', 'home']);
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

  it('shows the live arithmetic over the domains of five locations and changes to 3 of 5, t 3', async () => {
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
    const submit = dialog.getByRole('button', { name: 'Change safety' });
    // Five locations in four domains: surviving 2 leaves 2 domains, fewer than t = 3.
    await dialog.getByRole('button', { name: /Critical/ }).click();
    await dialog.getByText(/^4 domains can't both survive losing 2 and stay secret against 2/).waitFor();
    await expect.poll(() => submit.isDisabled()).toBe(true);
    // Home holds two shards: surviving any 1 domain needs k = 3 (over locations: 4).
    await dialog.getByRole('button', { name: /Sensitive/ }).click();
    await expect
      .poll(() => summary.innerText())
      .toMatch(/Shards per file \(n\)\s*5[\s\S]*Needed to read \(k\)\s*3[\s\S]*Needed to unlock \(t\)\s*3/);
    await expect.poll(() => submit.isDisabled()).toBe(false);
    await page.screenshot({ path: join('docs/screenshots', '37-change-safety-domains.png') });
    await submit.click();
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
