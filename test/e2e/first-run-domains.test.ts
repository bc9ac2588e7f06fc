// The first run with failure domains in the web UI (issue 14): each location gets Add
// location's "Failure domain" field; two of three in one domain and the form says, live and
// in the words status uses, what a fire there costs and why the policy can't be; a fourth
// location elsewhere makes it possible (k over domains), and the vault is created with them.
// Run: npx vitest run --config test/e2e/vitest.config.ts test/e2e/first-run-domains.test.ts
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, launchChromium, missingForBrowser, serve } from './helpers';

const PASSPHRASE = 'amber lantern over the quiet harbour';
const missing = missingForBrowser();
if (missing) console.log(`first-run domains e2e skipped: ${missing}`);

describe.skipIf(missing !== null)('failure domains in the first run', () => {
  let root: string;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-e2e-first-domains-'));
    for (const dir of ['home', 'profile', 'usb', 'nas', 'cloud', 'office', 'browser'])
      mkdirSync(join(root, dir), { recursive: true });
    env = { SHARDVAULT_HOME: join(root, 'profile'), HOME: join(root, 'home'), SHARDVAULT_PASSPHRASE: '' };
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

  const row = (i: number) => page.getByTestId(`location-row-${i}`);
  const add = async (name: string): Promise<void> => {
    const input = page.getByLabel('Add a location');
    await input.fill(`${join(root, name)}#${name}`);
    await input.press('Enter');
  };

  it('warns live when two locations share a domain, and creates the vault with the domains', async () => {
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Welcome to Shardvault' }).waitFor({ timeout: 30_000 });
    for (const name of ['usb', 'nas', 'cloud']) await add(name);
    await page.getByRole('button', { name: /Everyday/ }).click();
    expect(await page.getByTestId('domain-warning').count()).toBe(0);

    // usb at home, then nas "same as" usb: the pick Add location offers.
    await row(1).getByLabel('Failure domain (optional)').fill('home');
    await row(2).getByRole('button', { name: 'Same building or provider as home' }).click();
    expect(await row(2).getByLabel('Failure domain (optional)').inputValue()).toBe('home');
    const warning = page.getByTestId('domain-warning');
    await expect
      .poll(() => warning.first().innerText(), { timeout: 30_000 })
      .toBe(
        'Failure domains: usb and nas are both in home: losing home loses 2 shards of each file; the vault survives losing 1.',
      );
    expect(await page.locator('.field-error').innerText()).toMatch(
      /^2 domains can't both survive losing 1 and stay secret against 1/,
    );
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByLabel('Confirm passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Create vault' }).click();
    expect(await page.getByTestId('recovery-code').count()).toBe(0);

    // A fourth location elsewhere: three domains survive losing home; k is 2 of 4 over them.
    await add('office');
    await expect.poll(() => page.getByTestId('domain-warning').count(), { timeout: 30_000 }).toBe(0);
    const summary = page.locator('.policy-summary');
    await expect.poll(() => summary.textContent()).toContain('Needed to read (k)2');
    expect(await summary.textContent()).toContain('Shards per file (n)4');
    expect(await page.locator('.field-error').count()).toBe(0);
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByTestId('recovery-code').waitFor({ timeout: 60_000 });

    expect(pageErrors).toEqual([]);
    // The profile is the server's while it runs: stop it, then ask the CLI.
    await served.stop();
    const listed = spawnSync(process.execPath, ['bin/shardvault.mjs', 'location', 'list', '--json'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(listed.status, listed.stderr).toBe(0);
    const locations = JSON.parse(listed.stdout) as { name: string; domain: string | null }[];
    expect(locations.map((l) => [l.name, l.domain])).toEqual([
      ['usb', 'home'],
      ['nas', 'home'],
      ['cloud', null],
      ['office', null],
    ]);
  });
});
