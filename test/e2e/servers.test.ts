// A vault over real servers, made in the web UI's first run like a user would: a folder, an
// OpenSSH SFTP server (its host key confirmed in the form), an rclone WebDAV server (its
// password in its own field) and another folder. A file is stored, the SFTP server is
// stopped: its tile goes offline and the file degraded; the file still exports byte for
// byte, and the access requests show each step. Screenshots 25+ land in docs/screenshots/.
// Run: npx vitest run --config test/e2e/vitest.config.ts
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocationInput } from '../../src/shared/api';
import { type RcloneServer, startRclone } from '../servers/rclone';
import { type SshdServer, startSshd } from '../servers/sshd';
import { type Served, exportByDownload, launchChromium, missingForBrowser, serve } from './helpers';

const SHOTS = 'docs/screenshots';
const PASSPHRASE = 'granite window seventy 3';
const missing = missingForBrowser();
if (missing) console.log(`servers e2e skipped: ${missing}`);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(missing !== null)('a vault over real servers, made in the first run', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  let sshd: SshdServer;
  let dav: RcloneServer;
  const pageErrors: string[] = [];
  /** Every JSON body the page sent to the bridge, by route. */
  const sent: Array<{ route: string; body: string }> = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-servers-'));
    for (const dir of ['home/Downloads', 'profile', 'usb', 'nas', 'browser']) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    // The servers are part of what is tested: a missing Debian package fails the test (CI
    // installs them; scripts/setup-system.sh).
    [sshd, dav] = await Promise.all([startSshd(), startRclone('webdav')]);
    served = await serve({
      SHARDVAULT_HOME: join(root, 'profile'),
      HOME: join(root, 'home'),
      SHARDVAULT_PASSPHRASE: '',
    });
    context = await launchChromium(join(root, 'browser'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/api/') && request.method() === 'POST') {
        sent.push({ route: url.pathname, body: request.postData() ?? '' });
      }
    });
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await served?.stop();
    await Promise.all([sshd?.stop(), dav?.stop()]);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const nav = (label: string): Promise<void> =>
    page
      .getByRole('navigation')
      .getByRole('button', { name: new RegExp(`^${label}`) })
      .click();
  const locationList = () => page.getByRole('list', { name: 'Locations' });

  it('creates the vault over a folder, SFTP, WebDAV and a folder', async () => {
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Welcome to Shardvault' }).waitFor({ timeout: 30_000 });
    const input = page.getByLabel('Add a location');
    await input.fill(`${join(root, 'usb')}#usb`);
    await input.press('Enter');

    // SFTP through the server form: the host key is shown and confirmed before it is listed.
    await page.getByRole('button', { name: 'Add a server…' }).click();
    let dialog = page.getByRole('dialog', { name: 'Add a location' });
    await dialog.getByRole('radio', { name: 'SFTP server' }).check();
    await dialog.getByLabel('User').fill(sshd.user);
    await dialog.getByLabel('Host').fill(sshd.host);
    await dialog.getByLabel('Port').fill(String(sshd.port));
    await dialog.getByLabel('Folder on the server').fill(sshd.dataDir);
    await dialog.getByLabel('Private key file').fill(sshd.keyPath);
    await dialog.getByLabel('Name in the vault (optional)').fill('vps');
    await dialog.getByRole('button', { name: 'Add location' }).click();
    const confirm = page.getByRole('dialog', { name: 'Trust this server?' });
    await confirm.waitFor({ timeout: 30_000 });
    expect(await confirm.getByTestId('host-key').innerText()).toBe(sshd.fingerprint);
    await confirm.getByRole('button', { name: 'Trust' }).click();
    await dialog.waitFor({ state: 'detached' });

    // WebDAV with a password: it reaches the engine in the SPEC, and the page never shows it.
    await page.getByRole('button', { name: 'Add a server…' }).click();
    dialog = page.getByRole('dialog', { name: 'Add a location' });
    await dialog.getByRole('radio', { name: 'WebDAV server' }).check();
    await dialog.getByLabel('Address').fill(dav.url);
    await dialog.getByLabel('User').fill(dav.user);
    await dialog.getByLabel('Password').fill(dav.password);
    await dialog.getByLabel('Name in the vault (optional)').fill('dav');
    await dialog.getByRole('button', { name: 'Add location' }).click();
    await dialog.waitFor({ state: 'detached' });

    await input.fill(`${join(root, 'nas')}#nas`);
    await input.press('Enter');
    await expect.poll(() => locationList().getByRole('listitem').count()).toBe(4);
    const listed = await locationList().innerText();
    expect(listed).toContain(`${sshd.host}`);
    expect(listed).not.toContain(dav.password);
    expect(await page.content()).not.toContain(encodeURIComponent(dav.password));

    await page.getByRole('button', { name: /Everyday/ }).click();
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByLabel('Confirm passphrase').fill(PASSPHRASE);
    await shot('25-create-over-servers');
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByTestId('recovery-code').waitFor({ timeout: 60_000 });
    const kit = await page.locator('.kit-facts').innerText();
    expect(kit).toContain(sshd.host);
    expect(kit).not.toContain(dav.password);
    // The locations sent to the engine pinned the confirmed host key and carried the password
    // as a field of its own, never inside a URL.
    const body = sent.filter((s) => s.route === '/api/createVault').at(-1)!.body;
    const created = JSON.parse(body) as { locations: LocationInput[] };
    expect(created.locations.find((l) => l.kind === 'sftp')).toMatchObject({ hostKey: sshd.fingerprint });
    expect(created.locations.find((l) => l.kind === 'webdav')).toMatchObject({ secrets: { password: dav.password } });
    expect(body).not.toContain(`:${encodeURIComponent(dav.password)}@`);
    await page.getByLabel(/I have written down/).check();
    await page.getByRole('button', { name: 'Continue to the vault' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await expect.poll(() => page.locator('.tile.online').count(), { timeout: 30_000 }).toBe(4);
    // Each server holds the vault now.
    expect(readdirSync(sshd.dataDir)).toContain('shardvault.json');
    expect(readdirSync(dav.dataDir)).toContain('shardvault.json');
  });

  const content = randomBytes(5 * 1024 * 1024 + 77);
  const fileName = 'deeds-2026.bin';

  it('stores a file on all four, then sees the SFTP server stopped: offline, the file degraded', async () => {
    await nav('Files');
    const source = join(root, fileName);
    writeFileSync(source, content);
    await page.getByTestId('file-input').setInputFiles(source);
    const row = page.getByTestId(`file-${fileName}`);
    await row.waitFor({ timeout: 60_000 });
    await expect.poll(() => row.innerText()).toContain('Healthy');
    expect(readdirSync(join(sshd.dataDir, 'shards'))).toHaveLength(1);
    expect(readdirSync(join(dav.dataDir, 'shards'))).toHaveLength(1);

    await sshd.kill();
    await nav('Dashboard');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.getByTestId('vault-health').innerText(), { timeout: 60_000 }).toContain('Degraded');
    const offline = page.locator('.tile.offline');
    expect(await offline.count()).toBe(1);
    expect(await offline.innerText()).toContain('vps');
    await shot('26-server-offline');

    await nav('Files');
    await expect.poll(() => row.innerText(), { timeout: 30_000 }).toContain('Degraded');
    await row.getByRole('button', { name: 'Placement' }).click();
    const placement = page.getByRole('dialog', { name: `Placement of ${fileName}` });
    await placement.locator('table.placement').waitFor({ timeout: 30_000 });
    expect(await placement.locator('[data-state="ok"]').count()).toBe(3);
    expect(await placement.locator('[data-state="offline"]').count()).toBe(1);
    await page.keyboard.press('Escape');
  });

  it('exports the file from the three that are left, byte for byte', async () => {
    const exported = await exportByDownload(page, fileName, 90_000);
    expect(exported.name).toBe(fileName);
    expect(sha256(exported.bytes)).toBe(sha256(content));
  });

  it('shows every step in the access requests, read from the audit log', async () => {
    await nav('Access requests');
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    const text = await page.locator('table').innerText();
    expect(text).toMatch(/Create/i);
    expect(text).toMatch(/Store/i);
    expect(text).toMatch(/Export/i);
    expect(text).toContain(fileName);
    expect(text).toContain('vps');
    expect(pageErrors).toEqual([]);
  });
});
