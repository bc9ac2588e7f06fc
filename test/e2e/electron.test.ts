// The desktop app end to end with Playwright's Electron driver. The Electron binary cannot
// be downloaded on every machine (see scripts/postinstall.mjs): where it is missing, this
// test says why and skips; the web-mode test (web.test.ts) drives the same UI in Chromium.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type ElectronApplication, type Page, _electron as electron } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

function electronBinary(): { path: string } | { why: string } {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { why: 'the electron package is not installed' };
  }
  const pathTxt = join(dir, 'path.txt');
  if (!existsSync(pathTxt)) {
    return { why: `no Electron binary (${pathTxt} is missing: its download failed or was skipped at install)` };
  }
  const binary = join(dir, 'dist', readFileSync(pathTxt, 'utf8').trim());
  if (!existsSync(binary)) return { why: `no Electron binary at ${binary}` };
  if (!existsSync('out/main/index.js')) return { why: 'the app is not built (npx electron-vite build)' };
  return { path: binary };
}

const found = electronBinary();
if ('why' in found) console.log(`electron e2e skipped: ${found.why}`);

describe.skipIf('why' in found)('the desktop app', () => {
  let root: string;
  let app: ElectronApplication;
  let page: Page;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-electron-'));
    for (const dir of ['profile', 'one', 'two', 'three']) mkdirSync(join(root, dir));
    app = await electron.launch({
      executablePath: 'path' in found ? found.path : undefined,
      // Chromium refuses to start as root with its sandbox; the renderer's own sandbox flag stays on.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), 'out/main/index.js'],
      env: { ...process.env, SHARDVAULT_HOME: join(root, 'profile'), ELECTRON_RENDERER_URL: '' },
    });
    page = await app.firstWindow();
  });

  afterAll(async () => {
    await app?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('shows the first-run screen in a hardened window', async () => {
    await page.getByRole('heading', { name: 'Welcome to Shardvault' }).waitFor();
    // The page sees the named API functions, and nothing of Node or Electron.
    expect(await page.evaluate('typeof require')).toBe('undefined');
    expect(await page.evaluate('typeof process')).toBe('undefined');
    expect(await page.evaluate('window.shardvault.mode')).toBe('desktop');
    expect(await page.evaluate("'ipcRenderer' in window.shardvault || 'invoke' in window.shardvault")).toBe(false);
    expect(await page.evaluate('Object.isFrozen(window.shardvault)')).toBe(true);
    expect(await page.evaluate("window.open('https://example.org') === null")).toBe(true);
    // Navigation away is refused: the window keeps showing our page.
    const before = page.url();
    await page.evaluate("location.href = 'https://example.org/'");
    await page.waitForTimeout(500);
    expect(page.url()).toBe(before);
    // The app's own origin, not file:// (src/main/app-protocol.ts); it serves nothing outside
    // the built renderer.
    expect(before).toBe('app://shardvault/index.html');
    expect(await page.evaluate('location.origin')).toBe('app://shardvault');
  });

  it('validates payloads in main and answers envelopes', async () => {
    expect(await page.evaluate('window.shardvault.status()')).toEqual({ ok: true, value: null });
    expect(await page.evaluate('window.shardvault.unlock({ passphrase: 42 })')).toEqual({
      ok: false,
      error: { code: 'bad-request', message: 'passphrase: expected a passphrase, got a number' },
    });
    // The location and repair calls are there, named, and main checks their payloads too.
    for (const name of ['repair', 'probeLocation', 'addLocation', 'removeLocation', 'testLocation']) {
      expect(await page.evaluate(`typeof window.shardvault.${name}`)).toBe('function');
    }
    expect(await page.evaluate("window.shardvault.removeLocation({ name: '../x', untrusted: false })")).toEqual({
      ok: false,
      error: { code: 'bad-request', message: "name: expected a location name (letters, digits, '.', '_' or '-')" },
    });
    // Exports go only to a path the user picked in the save dialog.
    const answer = await page.evaluate<{ error: { code: string } }>(
      "window.shardvault.getFile({ name: 'x', output: '/tmp/x' })",
    );
    expect(answer.error.code).toBe('forbidden');
    // Stores read only a path the user picked (open dialog) or dropped: not one the page names,
    // and the page cannot offer a File it made itself.
    const put = await page.evaluate<{ error: { code: string } }>(
      "window.shardvault.putFile({ path: '/etc/hostname' })",
    );
    expect(put.error.code).toBe('forbidden');
    expect(await page.evaluate("typeof window.shardvault.offerFile === 'function'")).toBe(true);
    expect(await page.evaluate("'pathForFile' in window.shardvault")).toBe(false);
    const offered = await page.evaluate<{ ok: boolean; error: { code: string } }>(
      "window.shardvault.offerFile(new File(['x'], 'hostname'))",
    );
    expect(offered).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(await page.evaluate("window.shardvault.offerFile({ name: '/etc/hostname' })")).toMatchObject({ ok: false });
  });

  it('creates a vault through the UI', async () => {
    const input = page.getByLabel('Add a location');
    for (const dir of ['one', 'two', 'three']) {
      await input.fill(join(root, dir));
      await input.press('Enter');
    }
    await page.getByLabel('Passphrase', { exact: true }).fill('a desktop passphrase');
    await page.getByLabel('Confirm passphrase').fill('a desktop passphrase');
    // Main asks in a dialog of its own before a key share goes anywhere
    // (src/main/confirmed-locations.ts): the stand-in answers yes and keeps the question.
    await app.evaluate(({ dialog }) => {
      const seen: string[] = [];
      (globalThis as { asked?: string[] }).asked = seen;
      dialog.showMessageBox = (...args: unknown[]) => {
        const options = args[args.length - 1] as Electron.MessageBoxOptions;
        seen.push(`${options.message}\n${options.detail ?? ''}`);
        return Promise.resolve({ response: 0, checkboxChecked: false });
      };
    });
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByTestId('recovery-code').waitFor({ timeout: 60_000 });
    await page.getByLabel(/I have written down/).check();
    await page.getByRole('button', { name: 'Continue to the vault' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    expect(await page.locator('.tile.online').count()).toBe(3);
    const asked = await app.evaluate(() => (globalThis as { asked?: string[] }).asked ?? []);
    expect(asked).toHaveLength(1);
    for (const dir of ['one', 'two', 'three']) expect(asked[0]).toContain(join(root, dir));
  });
});
