// The recovery drill in the web UI, like a user: on the Locations screen, "Recovery drill…",
// tick locations, read the verdict in plain words; then open afresh from the others with the
// passphrase. The locations are compared before and after: only log entries are added.
// Screenshot 31 lands in docs/screenshots/.
// Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/drill.test.ts
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, initFolderVault, launchChromium, missingForBrowser, serve } from './helpers';

const SHOTS = 'docs/screenshots';
const PASSPHRASE = 'drill morning lantern 42';
const LOCATIONS = ['usb', 'nas', 'cloud'];
const missing = missingForBrowser();
if (missing) console.log(`drill e2e skipped: ${missing}`);

/** path -> "size mtime" of every file under the location folders. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of LOCATIONS) {
    const dir = join(root, name);
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const st = statSync(path);
      out.set(relative(root, path), `${st.size} ${st.mtimeMs}`);
    }
  }
  return out;
}

describe.skipIf(missing !== null)('the recovery drill in the web UI', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const sent: Array<{ route: string; body: string }> = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-drill-'));
    for (const dir of [...LOCATIONS, 'profile', 'home', 'browser', 'src'])
      mkdirSync(join(root, dir), { recursive: true });
    const env = { SHARDVAULT_HOME: join(root, 'profile'), HOME: join(root, 'home'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    initFolderVault(root, LOCATIONS, env);
    for (const name of ['letters.txt', 'deed.pdf']) {
      writeFileSync(join(root, 'src', name), randomBytes(50_000));
      const put = spawnSync(process.execPath, ['bin/shardvault.mjs', 'put', join(root, 'src', name)], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      expect(put.status, put.stderr).toBe(0);
    }
    served = await serve(env); // $SHARDVAULT_PASSPHRASE set: it starts unlocked
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
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const dialog = () => page.getByRole('dialog', { name: 'Recovery drill' });
  const verdict = () => dialog().getByTestId('drill-verdict');
  const run = async (): Promise<string> => {
    await dialog().getByRole('button', { name: 'Run the drill' }).click();
    await verdict().waitFor({ timeout: 60_000 });
    return verdict().innerText();
  };

  it('says in plain words what losing locations would cost, and changes nothing', async () => {
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 30_000 });
    await page
      .getByRole('navigation')
      .getByRole('button', { name: /^Locations/ })
      .click();
    const before = snapshot(root);
    await page.getByRole('button', { name: 'Recovery drill…' }).click();

    await dialog().getByRole('checkbox', { name: 'usb' }).check();
    expect(await run()).toContain('If usb were gone: every file still reads, the vault still unlocks.');
    expect(JSON.parse(sent.filter((s) => s.route === '/api/drill').at(-1)!.body)).toEqual({ lose: ['usb'] });

    await dialog().getByRole('checkbox', { name: 'nas' }).check();
    const worse = await run();
    expect(worse).toMatch(
      /If usb and nas were gone: 2 files would be lost: (letters\.txt, deed\.pdf|deed\.pdf, letters\.txt)/,
    );
    expect(worse).toContain('the vault would not unlock: 1 of the 2 key shares it needs would be left');
    await page.screenshot({ path: join(SHOTS, '31-recovery-drill.png'), fullPage: true });

    const after = snapshot(root);
    expect([...before].filter(([path, stamp]) => after.get(path) !== stamp)).toEqual([]);
    const added = [...after.keys()].filter((path) => !before.has(path));
    // Two drills, one entry each, on each of the three locations.
    expect(added).toHaveLength(2 * 3);
    for (const path of added) expect(path).toMatch(/^(usb|nas|cloud)\/log\/[0-9a-f]{32}\/\d{12}$/);
  });

  it('opens afresh from the others with the passphrase and reads the files back', async () => {
    await dialog().getByRole('checkbox', { name: 'nas' }).uncheck();
    await dialog()
      .getByRole('checkbox', { name: /Also open the vault afresh/ })
      .check();
    expect(await dialog().getByRole('button', { name: 'Run the drill' }).isDisabled()).toBe(true);
    await dialog().getByLabel('Passphrase').fill(PASSPHRASE);
    const text = await run();
    expect(text).toContain('If usb were gone: every file still reads, the vault still unlocks.');
    expect(text).toContain('Opened afresh from the remaining locations: 2 of 2 files read back byte for byte.');
    await dialog().getByRole('button', { name: 'Done' }).click();
    await dialog().waitFor({ state: 'detached' });
  });

  it('logs each drill as an access request', async () => {
    await page
      .getByRole('navigation')
      .getByRole('button', { name: /^Access/ })
      .click();
    await expect.poll(() => page.getByText('If usb and nas were gone', { exact: false }).count()).toBeGreaterThan(0);
    expect(await page.getByText('Recovery drill').count()).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
  });
});
