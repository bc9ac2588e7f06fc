// "Open as drive" and "Open" in the web UI, like a user: the Files screen starts the drive,
// the panel shows its address and password, and a WebDAV request signed with them reads a
// stored file back byte for byte; "Stop the drive" closes it. "Open" of a file in web mode
// is a browser download of the verified bytes.
// Screenshot 34 lands in docs/screenshots/.
// Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/drive.test.ts
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, initFolderVault, launchChromium, missingForBrowser, serve } from './helpers';

const SHOTS = 'docs/screenshots';
const PASSPHRASE = 'drive harbour lantern 42';
const LOCATIONS = ['usb', 'nas', 'cloud'];
const missing = missingForBrowser();
if (missing) console.log(`drive e2e skipped: ${missing}`);

function davGet(
  address: string,
  path: string,
  user: string,
  password: string,
): Promise<{ status: number; body: Buffer }> {
  const url = new URL(path, address);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(missing !== null)('the vault as a drive, in the web UI', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const letters = randomBytes(40_000);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-drive-'));
    for (const dir of [...LOCATIONS, 'profile', 'home', 'browser', 'src'])
      mkdirSync(join(root, dir), { recursive: true });
    const env = { SHARDVAULT_HOME: join(root, 'profile'), HOME: join(root, 'home'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    initFolderVault(root, LOCATIONS, env);
    writeFileSync(join(root, 'src', 'letters.txt'), letters);
    const put = spawnSync(process.execPath, ['bin/shardvault.mjs', 'put', join(root, 'src', 'letters.txt')], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(put.status, put.stderr).toBe(0);
    served = await serve(env); // $SHARDVAULT_PASSPHRASE set: it starts unlocked
    context = await launchChromium(join(root, 'browser'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await served?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const dialog = () => page.getByRole('dialog', { name: 'Open as drive' });

  it('starts the drive and shows its address and password, which open the vault', async () => {
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
    await page
      .getByRole('navigation')
      .getByRole('button', { name: /^Files/ })
      .click();
    await page.getByRole('button', { name: 'Open as drive…' }).click();
    await dialog().getByRole('button', { name: 'Start the drive' }).click();
    const address = await dialog().getByTestId('drive-address').innerText({ timeout: 30_000 });
    const user = await dialog().getByTestId('drive-user').innerText();
    const password = await dialog().getByTestId('drive-password').innerText();
    expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(user).toBe('shardvault');
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(await dialog().getByText('Map network drive', { exact: false }).count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, '34-open-as-drive.png') });

    const read = await davGet(address, '/letters.txt', user, password);
    expect(read.status).toBe(200);
    expect(read.body.equals(letters)).toBe(true);
    expect((await davGet(address, '/letters.txt', user, 'x'.repeat(32))).status).toBe(401);

    await dialog().getByRole('button', { name: 'Stop the drive' }).click();
    await dialog().getByRole('button', { name: 'Start the drive' }).waitFor();
    await expect(davGet(address, '/letters.txt', user, password)).rejects.toThrow(/ECONNREFUSED/);
    await dialog().getByRole('button', { name: 'Done' }).click();
    await dialog().waitFor({ state: 'detached' });
  });

  it('opens a file as a browser download of its verified bytes', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByTestId('file-letters.txt').getByRole('button', { name: 'Open', exact: true }).click(),
    ]);
    expect(await download.failure()).toBeNull();
    expect(download.suggestedFilename()).toBe('letters.txt');
    expect(readFileSync(await download.path()).equals(letters)).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
