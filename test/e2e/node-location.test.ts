// A Shardvault node added through the web UI's Add location form: the user pastes the line
// `shardvault node serve` printed; the form sends it as the kind's one field (no secret of
// the page's making), the engine makes the device key and enrols it, and the node's tile is
// online. Real parts: the CLI's web bridge, Chromium, a `node serve` process on loopback.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShardNode, type ShardNodeServer } from '../servers/shardnode';
import { type Served, initFolderVault, launchChromium, missingForBrowser, serve } from './helpers';

const PASSPHRASE = 'copper kettle morning 17';
const missing = missingForBrowser();
if (missing) console.log(`node location e2e skipped: ${missing}`);

describe.skipIf(missing !== null)('a Shardvault node added in the web UI', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  let node: ShardNodeServer;
  const sent: Array<{ route: string; body: string }> = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-node-'));
    for (const dir of ['profile', 'usb', 'nas', 'cloud', 'browser']) mkdirSync(join(root, dir), { recursive: true });
    const env = { SHARDVAULT_HOME: join(root, 'profile'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    initFolderVault(root, ['usb', 'nas', 'cloud'], env);
    node = await startShardNode();
    served = await serve(env);
    context = await launchChromium(join(root, 'browser'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/api/') && request.method() === 'POST')
        sent.push({ route: url.pathname, body: request.postData() ?? '' });
    });
  });

  afterAll(async () => {
    await context?.close();
    await served?.stop();
    await node?.remove();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('takes the pasted line, enrols this device, and shows the node online', async () => {
    await page.goto(served.url);
    await page
      .getByRole('navigation')
      .getByRole('button', { name: /^Locations/ })
      .click();
    await page.getByRole('button', { name: 'Add location…' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Add a location' });
    await dialog.getByRole('radio', { name: 'Shardvault node' }).check();
    // Something else than the node's line is refused by the form, in words.
    await dialog.getByLabel('Node address', { exact: true }).fill('https://nas.example.org/');
    await dialog.getByRole('button', { name: 'Add location' }).click();
    await dialog.getByText(/Paste the line the node printed/).waitFor();
    await dialog.getByLabel('Node address', { exact: true }).fill(node.spec);
    await dialog.getByRole('button', { name: 'Add location' }).click();
    await page.getByText(/^Added loc4 \(node\+https:\/\/127\.0\.0\.1:\d+\)/).waitFor({ timeout: 60_000 });
    const added = JSON.parse(sent.filter((s) => s.route === '/api/addLocation').at(-1)!.body) as {
      location: { kind: string; fields: Record<string, string>; secrets?: unknown };
    };
    expect(added.location).toMatchObject({ kind: 'node', fields: { address: node.spec } });
    expect(added.location.secrets).toBeUndefined(); // the device key is the engine's making
    const tile = page.getByTestId('location-loc4');
    await expect.poll(() => tile.getAttribute('class'), { timeout: 30_000 }).toContain('online');
    expect(await tile.innerText()).toContain('Node');
    // Enrolled, and the vault's location record is on the node.
    expect(readdirSync(join(node.dir, 'store'))).toContain('shardvault.json');
  });
});
