// A new machine in the web UI (issue 10, item 7), like a user: a vault made elsewhere (the
// CLI, another profile) over two folders and a password-protected WebDAV server
// (`rclone serve webdav`, real); a fresh profile opens it in the browser from the two
// folders, is told to sign in to the server (not "offline", no CLI advice, no file "lost"),
// signs in through a form that already holds the server's address and asks only the
// password, and then every file exports byte for byte.
// Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/new-machine.test.ts
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RcloneServer, startRclone } from '../servers/rclone';
import { type Served, exportByDownload, launchChromium, missingForBrowser, serve } from './helpers';

const SHOTS = 'docs/screenshots';
const PASSPHRASE = 'lantern orchard winter 42';
const missing = missingForBrowser();
if (missing) console.log(`new-machine e2e skipped: ${missing}`);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function cli(args: readonly string[], env: NodeJS.ProcessEnv): string {
  const run = spawnSync(process.execPath, ['bin/shardvault.mjs', ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`shardvault ${args[0]} exited with ${run.status}:\n${run.stderr}`);
  return run.stdout;
}

describe.skipIf(missing !== null)('a new machine in the web UI', () => {
  let root: string;
  let dav: RcloneServer;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const files = new Map<string, Buffer>([
    ['taxes-2026.pdf', randomBytes(700_000)],
    ['notes.txt', Buffer.from('the spare key is under the blue pot\n')],
  ]);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-new-'));
    for (const dir of ['machine-a', 'machine-b', 'usb', 'nas', 'browser', 'home/Downloads']) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    dav = await startRclone('webdav');
    const url = new URL(dav.url);
    const server = `webdav+http://${dav.user}:${encodeURIComponent(dav.password)}@${url.host}${url.pathname}#dav`;
    // Machine A: k = 3 of n = 3, so no file reads without the server; t = 2 folders unlock.
    const a = { SHARDVAULT_HOME: join(root, 'machine-a'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    cli(
      ['init', '--location', `${join(root, 'usb')}#usb`, '--location', `${join(root, 'nas')}#nas`]
        .concat(['--location', server, '--data', '3', '--total', '3', '--threshold', '2'])
        .concat(['--insecure-kdf-cost', '12']),
      a,
    );
    for (const [name, bytes] of files) {
      const source = join(root, name);
      writeFileSync(source, bytes);
      cli(['put', source], a);
    }
    // Machine B: a fresh profile, no passphrase in its environment (the first run opens it).
    served = await serve({ SHARDVAULT_HOME: join(root, 'machine-b'), HOME: join(root, 'home') });
    context = await launchChromium(join(root, 'browser'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await served?.stop();
    await dav?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const nav = (label: string): Promise<void> =>
    page
      .getByRole('navigation')
      .getByRole('button', { name: new RegExp(`^${label}`) })
      .click();

  it('opens the vault from the two folders and asks to sign in to the server', async () => {
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Welcome to Shardvault' }).waitFor({ timeout: 30_000 });
    await page.getByRole('tab', { name: 'Open an existing vault' }).click();
    const form = page.getByRole('form', { name: 'Open a vault' });
    const input = form.getByLabel('Add a location');
    for (const dir of ['usb', 'nas']) {
      await input.fill(`${join(root, dir)}#${dir}`);
      await input.press('Enter');
    }
    await form.getByRole('textbox', { name: 'Passphrase' }).fill(PASSPHRASE);
    await form.getByRole('button', { name: 'Open vault' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 60_000 });

    const health = page.getByTestId('vault-health');
    await expect.poll(() => health.innerText(), { timeout: 30_000 }).toContain('Sign in needed');
    expect(await health.innerText()).toContain('Sign in to dav to use it on this device');

    await nav('Files');
    for (const name of files.keys()) {
      const row = page.getByTestId(`file-${name}`);
      await expect.poll(() => row.innerText(), { timeout: 30_000 }).toContain('Needs sign-in for dav');
      expect(await row.innerText()).not.toMatch(/\bLost\b/);
    }

    await nav('Locations');
    const tile = page.getByTestId('location-dav');
    await expect.poll(() => tile.innerText(), { timeout: 30_000 }).toContain('Sign in to dav to use it on this device');
    expect(await tile.innerText()).toContain('Needs sign-in');
    expect(await tile.innerText()).not.toContain('Offline');
    expect(await tile.getAttribute('class')).toBe('tile signin');
    // No command-line advice anywhere in the app.
    expect(await page.locator('body').innerText()).not.toMatch(/--location|shardvault location/);
    await page.screenshot({ path: join(SHOTS, '31-sign-in-needed.png'), fullPage: true });
  });

  it('signs in with only the password, in a form holding the server’s address', async () => {
    const url = new URL(dav.url);
    await page.getByTestId('location-dav').getByRole('button', { name: 'Sign in to dav…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sign in to dav' });
    expect(await dialog.getByLabel('Server', { exact: true }).inputValue()).toBe(url.hostname);
    expect(await dialog.getByLabel('Port', { exact: true }).inputValue()).toBe(url.port);
    expect(await dialog.getByLabel('User', { exact: true }).inputValue()).toBe(dav.user);
    expect(await dialog.getByLabel('Folder on the server').inputValue()).toBe(decodeURIComponent(url.pathname));
    expect(await dialog.getByLabel('Server', { exact: true }).isEditable()).toBe(false);

    // A wrong password is refused, and the location still needs sign-in.
    await dialog.getByLabel('Password').fill('not the password');
    await dialog.getByRole('button', { name: 'Sign in' }).click();
    await dialog.getByText('Not signed in.').waitFor({ timeout: 30_000 });
    expect(await dialog.getByLabel('Password').inputValue()).toBe('');

    await dialog.getByLabel('Password').fill(dav.password);
    await page.screenshot({ path: join(SHOTS, '32-sign-in.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in to dav: this device uses it from now on.').waitFor({ timeout: 60_000 });
    const tile = page.getByTestId('location-dav');
    await expect.poll(() => tile.innerText(), { timeout: 30_000 }).toContain('Online');
    expect(await tile.innerText()).not.toContain('Sign in to dav');
  });

  it('then reads every file back byte for byte', async () => {
    await nav('Files');
    for (const [name, bytes] of files) {
      const row = page.getByTestId(`file-${name}`);
      await expect.poll(() => row.innerText(), { timeout: 30_000 }).toContain('Healthy');
      const got = await exportByDownload(page, name);
      expect(got.name).toBe(name);
      expect(sha256(got.bytes)).toBe(sha256(bytes));
    }
    expect(pageErrors).toEqual([]);
  });
});
