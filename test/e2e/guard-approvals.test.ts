// Guarded files in the web UI (issue 15, "In the app"), with two browser contexts and two
// `shardvault serve` processes on two profiles of the same vault: the guardian's device (the
// one that ran `guard setup`, the vault's first guardian) and the owner's other device (its
// own profile, enrolled with each node by a fresh code). Real parts: two `shardvault node
// serve` processes on loopback (G = 2 of 2), the CLI's web bridge, Chromium.
//
// The policy asks for 1 approval. The other device exports a guarded file: its transfer row
// says it waits ("0 of 1"); the guardian's Access requests screen shows the pending request
// live (file, nodes asked) and approves it; the export then completes with the file's bytes.
// A second export is denied, and its row says so in words (code `approval`, exit 7's
// meaning). The guardian's dashboard shows each node's share verified against the guard's
// commitments and its request log's length. Screenshots 40-42 land in docs/screenshots/.
// Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/guard-approvals.test.ts
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShardNode, type ShardNodeServer } from '../servers/shardnode';
import {
  CHROMIUM,
  CHROMIUM_FLAGS,
  type Served,
  exportByDownload,
  initFolderVault,
  missingForBrowser,
  serve,
} from './helpers';

const SHOTS = 'docs/screenshots';
const PASSPHRASE = 'harbour lantern quietly 58';
const missing = missingForBrowser();
if (missing) console.log(`guard approvals e2e skipped: ${missing}`);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function cli(args: readonly string[], env: NodeJS.ProcessEnv): string {
  const run = spawnSync(process.execPath, ['bin/shardvault.mjs', ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`shardvault ${args.join(' ')} exited with ${run.status}:\n${run.stderr}`);
  return run.stdout;
}

describe.skipIf(missing !== null)('guardian approvals in the web UI, two devices', () => {
  let root: string;
  const nodes: ShardNodeServer[] = [];
  let guardianServe: Served;
  let ownerServe: Served;
  let browser: Browser;
  let guardianContext: BrowserContext;
  let ownerContext: BrowserContext;
  let guardian: Page;
  let owner: Page;
  const pageErrors: string[] = [];
  const secret = randomBytes(300_000);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-guard-'));
    for (const dir of ['guardian', 'owner', 'usb', 'nas', 'cloud']) mkdirSync(join(root, dir), { recursive: true });
    const asGuardian = { SHARDVAULT_HOME: join(root, 'guardian'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    const asOwner = { SHARDVAULT_HOME: join(root, 'owner'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    nodes.push(...(await Promise.all([startShardNode(), startShardNode()])));
    initFolderVault(root, ['usb', 'nas', 'cloud'], asGuardian);
    nodes.forEach((n, i) => cli(['location', 'add', `${n.spec}#n${i + 1}`], asGuardian));
    cli(['guard', 'setup', '--threshold', '2'], asGuardian);
    const source = join(root, 'will.pdf');
    writeFileSync(source, secret);
    cli(['put', source, '--guarded'], asGuardian);
    cli(['guard', 'policy', '--approvals', '1'], asGuardian);
    // The owner's other device: the vault from two of the folders (a new machine: it enrols
    // with each node in the browser, below).
    cli(['open', '--location', join(root, 'usb'), '--location', join(root, 'nas')], asOwner);
    [guardianServe, ownerServe] = await Promise.all([serve(asGuardian), serve(asOwner)]);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    const options = { viewport: { width: 1280, height: 840 }, colorScheme: 'light' as const, acceptDownloads: true };
    [guardianContext, ownerContext] = await Promise.all([browser.newContext(options), browser.newContext(options)]);
    [guardian, owner] = await Promise.all([guardianContext.newPage(), ownerContext.newPage()]);
    for (const page of [guardian, owner]) page.on('pageerror', (error) => pageErrors.push(error.message));
    await Promise.all([guardian.goto(guardianServe.url), owner.goto(ownerServe.url)]);
    mkdirSync(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([guardianServe?.stop(), ownerServe?.stop()]);
    for (const n of nodes) await n.remove();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const go = async (page: Page, screen: RegExp): Promise<void> => {
    await page.getByRole('navigation').getByRole('button', { name: screen }).click();
  };
  const transferDetail = (page: Page) => page.getByTestId('transfer').last().getByTestId('transfer-detail');

  it("shows each node's share verified against the commitments, and its request log", async () => {
    await guardian.getByTestId('guard-stat').waitFor({ timeout: 30_000 });
    expect(await guardian.getByTestId('guard-stat').innerText()).toMatch(/2 of 2 nodes, 1 approval/);
    for (const [i, name] of ['n1', 'n2'].entries()) {
      const tile = guardian.getByTestId(`location-${name}`);
      await expect
        .poll(() => tile.getByTestId('node-share').innerText(), { timeout: 30_000 })
        .toMatch(new RegExp(`verified \\(share ${i + 1}\\)`));
      // setup, the put's registration and the policy change, at least.
      const log = await tile.getByTestId('node-log').innerText();
      expect(Number(/(\d+) entr/.exec(log)?.[1])).toBeGreaterThanOrEqual(3);
    }
    // A vault's other locations show no node facts.
    expect(await guardian.getByTestId('location-usb').getByTestId('node-share').count()).toBe(0);
    await guardian.screenshot({ path: join(SHOTS, '40-node-health.png'), fullPage: true });
  });

  it('a new machine sees "needs enrolment" for the nodes and the guarded file, never "lost"; it enrols in the UI', async () => {
    await owner.getByTestId('guard-warning').waitFor({ timeout: 30_000 });
    expect(await owner.getByTestId('guard-warning').innerText()).toMatch(
      /cannot be opened on this device now: needs enrolment: this device is enrolled with 0 of the 2 nodes/,
    );
    for (const name of ['n1', 'n2'])
      expect(await owner.getByTestId(`location-${name}`).locator('.badge').innerText()).toBe('Needs enrolment');
    await go(owner, /^Files/);
    const row = owner.getByTestId('file-will.pdf');
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getByTestId('guarded-badge').innerText()).toBe('Guarded · needs enrolment');
    expect(await row.innerText()).not.toMatch(/lost/i);
    await go(owner, /^Locations/);
    await go(guardian, /^Access requests/);
    for (const [i, node] of nodes.entries()) {
      const name = `n${i + 1}`;
      await owner.getByRole('button', { name: `Enrol with ${name}…` }).click();
      const dialog = owner.getByRole('dialog', { name: `Enrol this device with ${name}` });
      await dialog
        .getByLabel('Node address', { exact: true })
        .fill(cli(['node', 'new-code', '--dir', node.dir], {}).trim());
      await dialog.getByRole('button', { name: 'Enrol' }).click();
      // The policy asks for an approval: so does a new device's enrolment at the guard's
      // nodes. The guardian approves it once; the second node takes the same approval.
      if (i === 0) {
        await owner.getByText(/^Enrolling with .*: waiting for 0 of 1 guardian approval/).waitFor({ timeout: 30_000 });
        const row = guardian.locator('[data-testid="pending-request"]', { hasText: 'enrol device' });
        await row.waitFor({ timeout: 30_000 });
        await row.getByRole('button', { name: /^Approve / }).click();
        await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('approved');
      }
      await owner.getByText(`Enrolled with ${name}: this device uses it from now on.`).waitFor({ timeout: 60_000 });
    }
    await go(owner, /^Dashboard/);
    await expect.poll(() => owner.getByTestId('guard-warning').count(), { timeout: 30_000 }).toBe(0);
    await expect
      .poll(() => owner.getByTestId('location-n2').getByTestId('node-share').innerText(), { timeout: 30_000 })
      .toMatch(/verified \(share 2\)/);
  }, 120_000);

  it('offers "Guarded" for new files, in words, and stores one so', async () => {
    await go(owner, /^Files/);
    const choice = owner.getByRole('checkbox', { name: 'Guarded' });
    await choice.waitFor({ timeout: 30_000 });
    expect(await owner.locator('#guarded-meaning').innerText()).toMatch(
      /also needs 2 of the vault's 2 nodes to agree \(each opening also needs 1 guardian approval\)/,
    );
    expect(await owner.getByTestId('file-will.pdf').getByTestId('guarded-badge').innerText()).toBe('Guarded');
    const source = join(root, 'codes.txt');
    writeFileSync(source, 'the safe opens with 31-07-58\n');
    await choice.check();
    await owner.getByTestId('file-input').setInputFiles(source);
    await owner.getByTestId('file-codes.txt').getByTestId('guarded-badge').waitFor({ timeout: 60_000 });
    await choice.uncheck();
  }, 90_000);

  it("the other device waits; the guardian sees the request live and approves; it opens with the file's bytes", async () => {
    await go(guardian, /^Access requests/);
    await guardian.getByTestId('guard-panel').waitFor({ timeout: 30_000 });
    const exported = exportByDownload(owner, 'will.pdf', 90_000);
    await expect
      .poll(() => transferDetail(owner).innerText(), { timeout: 30_000 })
      .toBe('waiting for guardian approvals: 0 of 1');
    // (the enrolment approved above is listed too, for as long as its approval lasts)
    const row = guardian.locator('[data-testid="pending-request"]', { hasText: 'will.pdf' }).first();
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getAttribute('data-state')).toBe('waiting');
    const text = await row.innerText();
    expect(text).toContain('will.pdf');
    expect(text).toContain('n1 and n2');
    expect(text).toContain('0 of 1 approval');
    await guardian.screenshot({ path: join(SHOTS, '41-access-request-pending.png'), fullPage: true });
    await row.getByRole('button', { name: /^Approve / }).click();
    const { name, bytes } = await exported;
    expect(name).toBe('will.pdf');
    expect(sha256(bytes)).toBe(sha256(secret));
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('approved');
  }, 120_000);

  it('a denial ends the wait, and the other device says so in words', async () => {
    await owner.getByRole('button', { name: 'Clear finished' }).click();
    await owner.getByTestId('file-will.pdf').getByRole('button', { name: 'Export' }).click();
    await expect.poll(() => transferDetail(owner).innerText(), { timeout: 30_000 }).toMatch(/0 of 1/);
    const row = guardian.locator('[data-testid="pending-request"][data-state="waiting"]').first();
    await row.waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: /^Deny / }).click();
    await expect
      .poll(() => transferDetail(owner).innerText(), { timeout: 30_000 })
      .toMatch(/^not opened, approval pending or denied: will\.pdf: request [0-9a-f]{32} was denied by guardian/);
    await owner.screenshot({ path: join(SHOTS, '42-guarded-denied.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('the other device asks to become a guardian with a button; it waits until the guardian approves', async () => {
    await go(owner, /^Access requests/);
    const panel = owner.getByTestId('guard-panel');
    await panel.waitFor({ timeout: 30_000 });
    expect(await panel.getByTestId('guardian').count()).toBe(1);
    expect(await panel.getByRole('option').nth(1).innerText()).toMatch(/^this device \(/);
    await panel.getByRole('combobox').selectOption({ index: 1 });
    await panel.getByRole('button', { name: 'Add guardian' }).click();
    await expect
      .poll(() => panel.getByTestId('guard-change-waiting').innerText(), { timeout: 30_000 })
      .toMatch(/^waiting for 0 of 1 approval/);
    const row = guardian.locator('[data-testid="pending-request"][data-state="waiting"]', {
      hasText: 'guard policy: 2 guardians, 1 approvals; adds',
    });
    await row.waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: /^Approve / }).click();
    await panel.getByText(/^Added guardian .*: 2 guardians, 1 approval per opening\./).waitFor({ timeout: 60_000 });
    await expect.poll(() => panel.getByTestId('guardian').count(), { timeout: 30_000 }).toBe(2);
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
