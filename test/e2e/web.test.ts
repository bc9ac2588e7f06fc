// The web UI end to end, like a user: `shardvault serve` over the real engine and local
// folder locations, driven in Debian's Chromium. Screenshots of each screen land in
// docs/screenshots/. Run: npx vitest run --config test/e2e/vitest.config.ts
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNANCHORED } from '../../src/shared/words';
import { type Served, exportByDownload, launchChromium, missingForBrowser, serve } from './helpers';

const SHOTS = 'docs/screenshots';
const PASSPHRASE = 'quiet harbour lantern 42';
const missing = missingForBrowser();
if (missing) console.log(`web e2e skipped: ${missing}`);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(missing !== null)('the web UI over shardvault serve', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-'));
    for (const dir of ['home/Downloads', 'profile', 'usb', 'nas', 'cloud', 'browser']) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    served = await serve({
      SHARDVAULT_HOME: join(root, 'profile'),
      HOME: join(root, 'home'),
      SHARDVAULT_PASSPHRASE: '',
    });
    context = await launchChromium(join(root, 'browser'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await served?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const nav = (label: string): Promise<void> =>
    page.getByRole('navigation').getByRole('button', { name: label }).click();

  it('serves the page with a strict CSP and takes the token out of the address bar', async () => {
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}$/);
    const response = await page.goto(served.url);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect.poll(() => page.url()).toBe(`${served.origin}/`);
    await page.getByRole('heading', { name: 'Welcome to Shardvault' }).waitFor();
    await shot('01-first-run');
  });

  it('creates a vault over three folders and shows the recovery kit until it is written down', async () => {
    const input = page.getByLabel('Add a location');
    for (const dir of ['usb', 'nas', 'cloud']) {
      await input.fill(join(root, dir));
      await input.press('Enter');
    }
    await page.getByRole('button', { name: /Everyday/ }).click();
    const summary = page.locator('.policy-summary');
    await expect.poll(() => summary.textContent()).toContain('Needed to read (k)2');
    expect(await summary.textContent()).toContain('Needed to unlock (t)2');
    expect(await summary.textContent()).toContain('Storage cost (n/k)1.5×');
    // A passphrase too easy to guess is refused by the engine, with its reasons, at the field.
    await page.getByLabel('Passphrase', { exact: true }).fill('password123');
    await page.getByLabel('Confirm passphrase').fill('password123');
    await page.getByRole('button', { name: 'Create vault' }).click();
    const refusal = page.locator('.field-error', { hasText: 'too easy to guess' });
    await refusal.waitFor({ timeout: 30_000 });
    expect(await refusal.innerText()).toMatch(/^This passphrase is too easy to guess.*commonly used password/);
    await shot('29-weak-passphrase');
    expect(await page.getByTestId('recovery-code').count()).toBe(0);
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    expect(await refusal.count()).toBe(0);
    await page.getByLabel('Confirm passphrase').fill(PASSPHRASE);
    await shot('02-create-vault');
    await page.getByRole('button', { name: 'Create vault' }).click();

    const code = page.getByTestId('recovery-code');
    await code.waitFor({ timeout: 60_000 });
    expect((await code.innerText()).trim().length).toBeGreaterThanOrEqual(20);
    expect(await page.getByTestId('vault-id').innerText()).toMatch(/^[0-9a-f]{16,}$/);
    await expect.poll(() => page.locator('.kit-facts').innerText()).toContain(join(root, 'nas'));
    await shot('03-recovery-kit');
    const shown = await code.innerText();
    // A reload before "I have written it down" shows the same kit again, not the vault.
    await page.reload();
    await code.waitFor({ timeout: 30_000 });
    expect(await code.innerText()).toBe(shown);
    const proceed = page.getByRole('button', { name: 'Continue to the vault' });
    expect(await proceed.isDisabled()).toBe(true);
    await page.getByLabel(/I have written down/).check();
    await proceed.click();

    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    // Once confirmed, the code is gone: a reload opens the vault.
    await page.reload();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('recovery-code').count()).toBe(0);
    await expect.poll(() => page.getByTestId('vault-health').innerText()).toContain('Healthy');
    expect(await page.locator('.tile.online').count()).toBe(3);
    await shot('04-dashboard');
  });

  const content = randomBytes(48 * 1024 * 1024);
  const fileName = 'scans-2026.bin';

  it('stores a file with a progress bar, speed and time left', async () => {
    await nav('Files');
    await page.getByRole('heading', { name: 'No files yet' }).waitFor();
    await shot('05-files-empty');

    const source = join(root, fileName);
    writeFileSync(source, content);
    // Record every progress value the page shows while the upload runs.
    // Record every progress value the page shows while the upload runs (page code as text:
    // this file is type-checked without the DOM).
    await page.evaluate(`(() => {
      const seen = (window.seen = []);
      new MutationObserver(() => {
        for (const row of document.querySelectorAll('[data-testid="transfer"]')) {
          const bar = row.querySelector('[role="progressbar"]');
          const detail = row.querySelector('[data-testid="transfer-detail"]')?.textContent ?? '';
          seen.push(bar?.getAttribute('aria-valuenow') + '|' + detail);
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    })()`);
    // The upload runs at a known pace (about 2 s for the file), so the speed and the time left
    // can show however fast this machine stores: Chromium's own throttling, loopback included.
    const devtools = await page.context().newCDPSession(page);
    await devtools.send('Network.enable');
    await devtools.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 24 * 1024 * 1024,
    });
    await page.getByTestId('file-input').setInputFiles(source);
    await page.getByTestId('transfer').waitFor();
    // Best effort: catch the bar mid-way for the screenshot (the assertions below do not need it).
    const bar = page.getByTestId('transfer').getByRole('progressbar');
    await expect
      .poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 10_000, interval: 10 })
      .toBeGreaterThanOrEqual(15)
      .catch(() => undefined);
    await shot('06-files-uploading');
    await page.getByTestId(`file-${fileName}`).waitFor({ timeout: 60_000 });
    await devtools.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    await devtools.detach();
    const seen = await page.evaluate<string[]>('window.seen');
    const running = seen.filter((s) => /\/s · /.test(s));
    expect(running.length, `progress seen: ${seen.slice(0, 10).join(' ; ')}`).toBeGreaterThan(0);
    expect(seen.some((s) => /left|estimating/.test(s))).toBe(true);
    expect(seen.some((s) => s.startsWith('100|done'))).toBe(true);
    const row = page.getByTestId(`file-${fileName}`);
    expect(await row.innerText()).toContain('Healthy');
    expect(await row.innerText()).toContain('survives 1 more loss');
    await shot('07-files');
  });

  it('shows the placement: shards by locations', async () => {
    await page.getByTestId(`file-${fileName}`).getByRole('button', { name: 'Placement' }).click();
    const dialog = page.getByRole('dialog', { name: `Placement of ${fileName}` });
    await dialog.locator('table.placement').waitFor();
    expect(await dialog.locator('[data-state="ok"]').count()).toBe(3);
    expect(await dialog.locator('tbody tr').count()).toBe(3);
    expect(await dialog.getByTestId('survives').innerText()).toBe('survives 1 more loss');
    await shot('08-placement');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('stores a second file, offers Replace for a name taken, and deletes it', async () => {
    const small = join(root, 'note.txt');
    writeFileSync(small, 'a small note\n');
    await page.getByTestId('file-input').setInputFiles(small);
    const row = page.getByTestId('file-note.txt');
    await row.waitFor();
    await expect.poll(() => row.innerText()).toContain('13 bytes');

    // The same name again: said once, on its transfer row, in the UI's words, with Replace.
    writeFileSync(small, 'a longer note, replacing the first\n');
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await page.getByTestId('file-input').setInputFiles(small);
    const refusal = page.getByRole('alert').filter({ hasText: 'a file named note.txt is in the vault already' });
    await refusal.waitFor({ timeout: 30_000 });
    expect(await page.getByRole('alert').count()).toBe(1);
    expect(await page.locator('main').innerText()).not.toContain('--replace');
    await shot('29-files-name-taken');
    await page.getByTestId('transfer').getByRole('button', { name: 'Replace' }).click();
    await expect.poll(() => row.innerText(), { timeout: 30_000 }).toContain('35 bytes');
    expect(await page.getByRole('alert').count()).toBe(0);

    // An empty file is stored as 0 bytes, and says so.
    const empty = join(root, 'empty.txt');
    writeFileSync(empty, '');
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await page.getByTestId('file-input').setInputFiles(empty);
    await page.getByTestId('file-empty.txt').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId('transfer-detail').innerText()).toBe('done · 0 bytes');
    await page.getByTestId('file-empty.txt').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete file' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByTestId('file-empty.txt').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Clear finished' }).click();

    await page.getByRole('searchbox', { name: 'Search files' }).fill('note');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete file' }).getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Nothing matches' }).waitFor();
    await page.getByRole('searchbox', { name: 'Search files' }).fill('');
  });

  it('stores a critical file with more parity: it survives more losses', async () => {
    const keys = join(root, 'keys.txt');
    writeFileSync(keys, randomBytes(20_000));
    const level = page.getByLabel('New files survive losing');
    await level.selectOption({ label: 'Survive losing 2 (critical: a whole copy on each, 3× storage)' });
    await page.getByTestId('file-input').setInputFiles(keys);
    const row = page.getByTestId('file-keys.txt');
    await row.waitFor({ timeout: 60_000 });
    await expect.poll(() => row.innerText()).toContain('survives 2 more losses');
    await shot('28-files-sensitivity');
    await level.selectOption({ label: 'Survive losing 1 (as the vault, 1.5× storage)' });
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete file' }).getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
  });

  it('sees a location go offline and the file degraded', async () => {
    renameSync(join(root, 'cloud'), join(root, 'cloud.unplugged'));
    await nav('Dashboard');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.getByTestId('vault-health').innerText(), { timeout: 20_000 }).toContain('Degraded');
    expect(await page.locator('.tile.offline').count()).toBe(1);
    const offlineTile = await page.locator('.tile.offline').innerText();
    expect(offlineTile).toContain('Offline');
    // When it was last reached, in seconds: never "just now" beside "Offline".
    expect(offlineTile).toMatch(/Last reached\s+\d+ (s|min) ago/i);
    expect(offlineTile).not.toContain('just now');
    await shot('09-dashboard-degraded');

    await nav('Files');
    const row = page.getByTestId(`file-${fileName}`);
    await expect.poll(() => row.innerText()).toContain('Degraded');
    expect(await row.innerText()).toContain('survives no more losses');
    await row.getByRole('button', { name: 'Placement' }).click();
    const dialog = page.getByRole('dialog', { name: `Placement of ${fileName}` });
    await dialog.locator('table.placement').waitFor();
    expect(await dialog.locator('[data-state="ok"]').count()).toBe(2);
    expect(await dialog.locator('[data-state="offline"]').count()).toBe(1);
    await shot('10-placement-degraded');
    await page.keyboard.press('Escape');

    // A store goes ahead with cloud (loc3: the folders were given without names) away, and
    // says what that costs; its shard for loc3 waits on another location.
    const late = join(root, 'late.txt');
    writeFileSync(late, 'stored while cloud is away\n');
    await page.getByTestId('file-input').setInputFiles(late);
    const lateRow = page.getByTestId('file-late.txt');
    await lateRow.waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('files-notice').innerText()).toContain(
      'late.txt survives no more losses until loc3 returns',
    );
    await expect.poll(() => lateRow.innerText()).toContain('survives no more losses until loc3 returns');
    await shot('29-files-location-away');
    await lateRow.getByRole('button', { name: 'Placement' }).click();
    const latePlacement = page.getByRole('dialog', { name: 'Placement of late.txt' });
    await latePlacement.locator('table.placement').waitFor();
    expect(await latePlacement.locator('[data-staged-for="loc3"]').count()).toBe(1);
    await shot('30-placement-staged');
    await page.keyboard.press('Escape');

    // Asking for every location refuses the store, in words.
    const store = page.getByLabel('Store new files when');
    await store.selectOption({ label: 'Store when all 3 locations are present' });
    const picky = join(root, 'picky.txt');
    writeFileSync(picky, 'only with every location\n');
    await page.getByTestId('file-input').setInputFiles(picky);
    await page.getByRole('alert').filter({ hasText: 'bring the others back first' }).waitFor();
    // Once (on the transfer row, not again in a banner).
    expect(await page.getByText(/bring the others back first/).count()).toBe(1);
    expect(await page.getByTestId('file-picky.txt').count()).toBe(0);
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await store.selectOption({ index: 0 });
  });

  it('exports the file as a browser download, verified, byte for byte', async () => {
    const exported = await exportByDownload(page, fileName);
    expect(exported.name).toBe(fileName);
    expect(sha256(exported.bytes)).toBe(sha256(content));
    await page.getByText(`Exported ${fileName}, verified; your browser saves it with its downloads.`).waitFor();
    await shot('11-export');
    // Nothing was written on the server's side but the download, which is gone once served.
    expect(readdirSync(join(root, 'home', 'Downloads'))).toEqual([]);
  });

  it('locks, refuses a wrong passphrase, unlocks', async () => {
    await page.getByRole('navigation').getByRole('button', { name: 'Lock' }).click();
    await page.getByRole('heading', { name: 'Vault locked' }).waitFor();
    expect(page.url()).toBe(`${served.origin}/`); // reloaded, token kept for this tab
    await page.getByLabel('Passphrase', { exact: true }).fill('not the passphrase');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByText('That passphrase did not unlock the vault').waitFor({ timeout: 30_000 });
    await shot('12-unlock');
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
  });

  it('shows every step in access requests, filterable', async () => {
    await nav('Access requests');
    const rows = page.getByTestId('access-row');
    await rows.first().waitFor();
    const entries: string[] = [];
    for (const row of await rows.all()) {
      entries.push(`${await row.getAttribute('data-action')}:${await row.getAttribute('data-outcome')}`);
    }
    for (const step of ['init:ok', 'put:ok', 'get:ok', 'rm:ok', 'unlock:ok']) expect(entries).toContain(step);
    expect(entries.some((e) => e.startsWith('unlock:') && e !== 'unlock:ok')).toBe(true);
    // The refused unlock is not anchored yet: the word, and its explanation in the tooltip.
    const refused = page.locator('[data-testid="access-row"][data-action="unlock"][data-outcome="denied"]').first();
    const mark = refused.locator('.unanchored');
    expect(await mark.innerText()).toContain(UNANCHORED.word);
    expect(await mark.getAttribute('title')).toContain(UNANCHORED.explanation);
    await shot('13-access-requests');

    await page.getByLabel('Action').selectOption('get');
    await expect.poll(() => rows.count()).toBe(entries.filter((e) => e.startsWith('get:')).length);
    expect(await rows.first().innerText()).toContain(fileName);
    await page.getByLabel('Action').selectOption('all');
  });

  it('has settings, and a dark theme', async () => {
    await nav('Settings');
    await page.getByRole('heading', { name: 'Policies by sensitivity' }).waitFor();
    await page.getByLabel('Lock the vault after').selectOption('5');
    await page.getByText('Saved.').waitFor();
    await shot('14-settings');

    await page.getByRole('button', { name: /Switch to dark theme/ }).click();
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await nav('Dashboard');
    await page.getByTestId('vault-health').waitFor();
    await shot('15-dashboard-dark');
    await nav('Files');
    await page.getByTestId(`file-${fileName}`).waitFor();
    await shot('16-files-dark');
  });

  it('kept the page free of errors', () => {
    expect(pageErrors).toEqual([]);
    // The expected console errors: the refused weak passphrase (422), the name taken (409),
    // the refused store (503) and the failed unlock (403).
    expect(consoleErrors.filter((e) => !/status of (403|409|422|503)/.test(e))).toEqual([]);
  });
});
