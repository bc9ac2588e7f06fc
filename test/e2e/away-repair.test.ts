// Issue 10's two whole behaviours in the web UI, like a user: a file stored while a location
// is away is shown waiting, with what that costs, and is completed in the background once the
// location returns (no reload); a shard damaged on disk is found by Deep check, the status
// card says the vault needs repair, Repair fixes it, the card follows back to healthy and the
// file exports byte for byte. Run: npx vitest run --config test/e2e/vitest.config.ts
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, exportByDownload, initFolderVault, launchChromium, missingForBrowser, serve } from './helpers';

const PASSPHRASE = 'amber tide lighthouse 58';
const missing = missingForBrowser();
if (missing) console.log(`away and repair e2e skipped: ${missing}`);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(missing !== null)('an away location and a damaged shard in the web UI', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-away-'));
    for (const dir of ['home/Downloads', 'profile', 'usb', 'nas', 'cloud', 'browser']) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    const env = { SHARDVAULT_HOME: join(root, 'profile'), HOME: join(root, 'home'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    initFolderVault(root, ['usb', 'nas', 'cloud'], env);
    served = await serve(env); // $SHARDVAULT_PASSPHRASE set: it starts unlocked
    context = await launchChromium(join(root, 'browser'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
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
  const card = () => page.getByTestId('vault-health');
  /** The shard copies staged on usb and nas for cloud, as files on disk. */
  const stagedCopies = (): string[] =>
    ['usb', 'nas'].flatMap((d) => {
      const dir = join(root, d, 'staged');
      return existsSync(dir) ? readdirSync(dir).map((name) => `${d}/${name}`) : [];
    });

  const content = randomBytes(300 * 1024 + 7);
  const fileName = 'passport-scan.bin';

  it('stores a file while cloud is away: shown waiting, with what that costs', async () => {
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
    await expect.poll(() => card().innerText(), { timeout: 20_000 }).toContain('Healthy');

    renameSync(join(root, 'cloud'), join(root, 'cloud.away'));
    await nav('Files');
    const source = join(root, fileName);
    writeFileSync(source, content);
    await page.getByTestId('file-input').setInputFiles(source);
    const row = page.getByTestId(`file-${fileName}`);
    await row.waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('files-notice').innerText()).toBe(
      `Stored ${fileName}. ${fileName} survives no more losses until cloud returns: its shards for cloud wait on the other locations and move there once back.`,
    );
    await expect.poll(() => row.innerText()).toContain('Degraded');
    expect(await row.innerText()).toContain('survives no more losses until cloud returns');

    await nav('Dashboard');
    await expect.poll(() => card().innerText(), { timeout: 20_000 }).toContain('Degraded');
    expect(await card().innerText()).toContain('cloud is offline');
    expect(await card().innerText()).toContain('1 shard copy stored meanwhile waits to move to cloud');
  });

  it('completes the file in the background once cloud returns, without a reload', async () => {
    expect(stagedCopies()).toHaveLength(1);
    renameSync(join(root, 'cloud.away'), join(root, 'cloud'));
    const loaded = await page.evaluate<number>('performance.timeOrigin');

    // Nothing clicked: the page's own refresh sees cloud back, and the app moves the copy.
    await expect.poll(() => page.locator('.tile.online').count(), { timeout: 15_000 }).toBe(3);
    // Then the page follows the move within seconds, not at its next ten-second round.
    await expect.poll(() => card().innerText(), { timeout: 6_000 }).toContain('Healthy');
    expect(await card().innerText()).toContain('All 3 locations are reachable and every file has all its shards.');
    expect(await page.evaluate<number>('performance.timeOrigin')).toBe(loaded);
    expect(readdirSync(join(root, 'cloud', 'shards'))).toHaveLength(1);
    expect(stagedCopies()).toEqual([]);

    await nav('Files');
    const row = page.getByTestId(`file-${fileName}`);
    await expect.poll(() => row.innerText()).toContain('Healthy');
    expect(await row.innerText()).toContain('survives 1 more loss');
    expect(await row.innerText()).not.toContain('until cloud returns');
  });

  it('finds a shard damaged on disk with Deep check, repairs it, and the card follows', async () => {
    const shards = join(root, 'nas', 'shards');
    const [object] = readdirSync(shards);
    const path = join(shards, object!);
    const bytes = readFileSync(path);
    const middle = Math.floor(bytes.length / 2);
    for (let i = middle; i < middle + 16; i++) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(path, bytes);

    await nav('Dashboard');
    // A quick check lists and sizes shards: the damage is inside, only a deep check reads it.
    await page.getByRole('button', { name: 'Deep check' }).click();
    const problems = page.getByRole('status').filter({ hasText: /problems? found/ });
    await problems.waitFor({ timeout: 30_000 });
    expect(await problems.innerText()).toContain(`${fileName}, shard`);
    expect(await problems.innerText()).toContain('on nas: corrupt');
    await expect.poll(() => card().innerText(), { timeout: 20_000 }).toContain('Degraded');
    expect(await card().innerText()).not.toContain('Healthy');
    expect(await card().innerText()).toContain('1 shard copy found damaged by a deep check or an export needs Repair');

    // The Dashboard's own Repair, not the problem list's "Repair now".
    await page.getByRole('button', { name: 'Repair', exact: true }).click();
    const report = page.getByTestId('repair-report');
    await report.waitFor({ timeout: 60_000 });
    expect(await report.innerText()).toContain('Repair finished');
    expect(await report.innerText()).not.toContain('Nothing needed repair');
    expect(await page.getByTestId('repair-rebuilt').innerText()).toContain('Rebuilt 1 shard copy of 1 file.');
    expect(await report.innerText()).toContain(`${fileName}: 1 copy rebuilt, degraded → healthy`);
    await expect.poll(() => card().innerText(), { timeout: 20_000 }).toContain('Healthy');
    expect(readFileSync(path).equals(bytes)).toBe(false);

    // A second deep check finds nothing.
    await page.getByRole('button', { name: 'Deep check' }).click();
    await page.getByText('Every shard of 1 file checked out.').waitFor({ timeout: 30_000 });
    expect(await card().innerText()).toContain('Healthy');

    await nav('Files');
    const exported = await exportByDownload(page, fileName);
    expect(exported.name).toBe(fileName);
    expect(sha256(exported.bytes)).toBe(sha256(content));
    expect(existsSync(join(root, 'home', 'Downloads', fileName))).toBe(false);
  });

  it('kept the page free of errors', () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
