// Folders in the web UI (issue 13), like a user: "Add folder…" stores a tree (nested folders
// and an empty one kept), the Files screen browses it with breadcrumbs, a search finds a file
// in any folder, and Rename/Move moves a folder. What the locations then hold is checked with
// the CLI. Screenshot 34 (the Files screen with a folder tree) lands in docs/screenshots/.
// Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/folders.test.ts
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli';
import { type Served, initFolderVault, launchChromium, missingForBrowser, serve } from './helpers';

const PASSPHRASE = 'amber tide lighthouse 58';
const SHOTS = 'docs/screenshots';
const missing = missingForBrowser();
if (missing) console.log(`folders e2e skipped: ${missing}`);

describe.skipIf(missing !== null)('folders in the web UI', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  let env: NodeJS.ProcessEnv;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-folders-'));
    for (const dir of ['home', 'profile', 'usb', 'nas', 'cloud', 'browser'])
      mkdirSync(join(root, dir), { recursive: true });
    env = { SHARDVAULT_HOME: join(root, 'profile'), HOME: join(root, 'home'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    initFolderVault(root, ['usb', 'nas', 'cloud'], env);
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

  const nav = (label: string): Promise<void> =>
    page
      .getByRole('navigation')
      .getByRole('button', { name: new RegExp(`^${label}`) })
      .click();
  const crumbs = () => page.getByRole('navigation', { name: 'Folder' });
  /** Names the vault holds, from the CLI (after the serve process has committed). */
  const vaultNames = (): string[] => {
    const r = spawnSync(process.execPath, [BIN, 'ls', '--json'], { env: { ...process.env, ...env }, encoding: 'utf8' });
    // serve holds the profile: the CLI waits for it or says busy; the page is the witness then.
    if (r.status !== 0) return [];
    return (JSON.parse(r.stdout) as { name: string }[]).map((f) => f.name).sort();
  };
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });

  it('stores a folder with "Add folder…" and browses into it with breadcrumbs', async () => {
    const tree = join(root, 'taxes');
    mkdirSync(join(tree, '2025', 'receipts'), { recursive: true });
    mkdirSync(join(tree, '2026'), { recursive: true });
    writeFileSync(join(tree, 'summary.txt'), 'totals\n');
    writeFileSync(join(tree, '2025', 'return.pdf'), Buffer.alloc(20_000, 1));
    writeFileSync(join(tree, '2025', 'receipts', 'dentist.pdf'), Buffer.alloc(9_000, 2));
    writeFileSync(join(tree, '2026', 'estimate.xlsx'), Buffer.alloc(5_000, 3));

    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
    await nav('Files');
    await page.getByRole('button', { name: 'Add folder…' }).waitFor();
    await page.getByTestId('folder-input').setInputFiles(tree);

    const folderRow = page.getByTestId('folder-taxes/');
    await folderRow.waitFor({ timeout: 60_000 });
    await expect.poll(() => page.getByTestId('files-notice').innerText(), { timeout: 60_000 }).toContain('Stored');
    expect(await folderRow.innerText()).toContain('4 files');
    expect(await page.getByTestId('files-notice').innerText()).toContain('Stored taxes/ (4 files');
    const row = page.getByTestId('transfer').filter({ hasText: 'taxes' });
    await expect.poll(() => row.getByTestId('transfer-detail').innerText()).toMatch(/^done · 4 files, /);

    // The same folder again: the name is taken; Replace stores it over the old tree.
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await page.getByTestId('folder-input').setInputFiles(tree);
    await expect
      .poll(() => row.getByTestId('transfer-detail').innerText(), { timeout: 60_000 })
      .toContain('taxes is in the vault already');
    await row.getByRole('button', { name: 'Replace' }).click();
    await expect
      .poll(() => row.getByTestId('transfer-detail').innerText(), { timeout: 60_000 })
      .toMatch(/^done · 4 files/);

    await folderRow.getByRole('button', { name: /taxes/ }).click();
    await expect.poll(() => crumbs().innerText()).toContain('taxes');
    await page.getByTestId('folder-taxes/2025/').waitFor();
    await page.getByTestId('folder-taxes/2026/').waitFor();
    await page.getByTestId('file-taxes/summary.txt').waitFor();
    // One level at a time: a file two folders down is not listed here.
    expect(await page.getByTestId('file-taxes/2025/return.pdf').count()).toBe(0);

    await page.getByTestId('folder-taxes/2025/').getByRole('button', { name: /2025/ }).click();
    await page.getByTestId('file-taxes/2025/return.pdf').waitFor();
    expect(await crumbs().innerText()).toMatch(/Vault\s*\/\s*taxes\s*\/\s*2025/);
    mkdirSync(SHOTS, { recursive: true });
    await crumbs().getByRole('button', { name: 'taxes' }).click();
    await page.getByTestId('folder-taxes/2025/').waitFor();
    await page.screenshot({ path: join(SHOTS, '34-files-folders.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('finds a file in any folder with the search', async () => {
    await crumbs().getByRole('button', { name: 'Vault' }).click();
    await page.getByRole('searchbox', { name: 'Search files' }).fill('dentist');
    await page.getByTestId('file-taxes/2025/receipts/dentist.pdf').waitFor();
    expect(await page.getByTestId('file-taxes/summary.txt').count()).toBe(0);
    await page.getByRole('searchbox', { name: 'Search files' }).fill('');
  });

  it('moves a folder with Rename/Move: the tree is under its new name', async () => {
    await page.getByTestId('folder-taxes/').getByRole('button', { name: 'Rename/Move' }).click();
    const field = page.getByRole('textbox', { name: 'New name' });
    await field.fill('archive/taxes');
    await page.getByRole('button', { name: 'Move', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('files-notice').innerText(), { timeout: 30_000 })
      .toBe('Moved taxes/ to archive/taxes/ (4 files).');
    await page.getByTestId('folder-archive/').waitFor();
    expect(await page.getByTestId('folder-taxes/').count()).toBe(0);
    await context.close();
    await served.stop();
    expect(vaultNames()).toEqual([
      'archive/taxes/2025/receipts/dentist.pdf',
      'archive/taxes/2025/return.pdf',
      'archive/taxes/2026/estimate.xlsx',
      'archive/taxes/summary.txt',
    ]);
    // The folder upload was one put of the whole tree (one commit), not one per file, and a
    // second one onto the taken name was refused, then replaced it on "Replace".
    const log = cli('log', '--json');
    expect(log.status, log.stderr).toBe(0);
    const puts = (JSON.parse(log.stdout) as { action: string; file: string | null; outcome: string }[])
      .filter((r) => r.action === 'put')
      .map((r) => `${r.file ?? ''} ${r.outcome}`);
    expect(puts).toEqual(['taxes/ ok', 'taxes/ failed', 'taxes/ ok']);
    // Byte for byte.
    const out = join(root, 'restored');
    const got = cli('get', 'archive/taxes/', '--output', out);
    expect(got.status, got.stderr).toBe(0);
    for (const f of ['summary.txt', '2025/return.pdf', '2025/receipts/dentist.pdf', '2026/estimate.xlsx'])
      expect(readFileSync(join(out, 'taxes', f)).equals(readFileSync(join(root, 'taxes', f))), f).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
