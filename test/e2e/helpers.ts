// Starting `shardvault serve` and Debian's Chromium for the browser tests.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type BrowserContext, type Page, chromium } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run here, or null. */
export function missingForBrowser(): string | null {
  let missing: string | null = null;
  if (!existsSync(CHROMIUM)) missing = `no Chromium at ${CHROMIUM} (bash scripts/setup-system.sh installs it)`;
  else if (!existsSync('out/cli/shardvault.mjs')) missing = 'the CLI is not built (npm run build:cli)';
  else if (!existsSync('out/renderer/index.html')) missing = 'the renderer is not built (npx electron-vite build)';
  // CI installs everything first: there, a missing part is a failure, not a reason to skip.
  if (missing && process.env['CI']) throw new Error(`web e2e cannot run in CI: ${missing}`);
  return missing;
}

export interface Served {
  readonly url: string;
  readonly origin: string;
  readonly process: ChildProcess;
  readonly stderr: () => string;
  stop(): Promise<void>;
}

/**
 * Makes a vault with the CLI over the folders `root/NAME` (each named NAME in the vault):
 * survives losing 1, secret against 1, the test KDF cost. `env` holds its profile and passphrase.
 */
export function initFolderVault(root: string, names: readonly string[], env: NodeJS.ProcessEnv): void {
  const init = spawnSync(
    process.execPath,
    [
      'bin/shardvault.mjs',
      'init',
      ...names.flatMap((d) => ['--location', `${join(root, d)}#${d}`]),
      ...['--survive', '1', '--secret-against', '1', '--insecure-kdf-cost', '12'],
    ],
    { env: { ...process.env, ...env }, encoding: 'utf8' },
  );
  if (init.status !== 0) throw new Error(`init exited with ${init.status}:\n${init.stderr}`);
}

/** Runs `node bin/shardvault.mjs serve --port 0`; its first stdout line is the URL. */
export async function serve(env: NodeJS.ProcessEnv): Promise<Served> {
  const child = spawn(process.execPath, ['bin/shardvault.mjs', 'serve', '--port', '0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 20 s; stderr:\n${stderr}`)), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}; stderr:\n${stderr}`)));
  });
  return {
    url,
    origin: new URL(url).origin,
    process: child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function launchChromium(
  userDataDir: string,
  colorScheme: 'light' | 'dark' = 'light',
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 840 },
    colorScheme,
    acceptDownloads: true,
  });
}

/**
 * Clicks a file's Export in the web UI and waits for the browser's download: the name it
 * saves under and the bytes it got (the engine verified them before the download started).
 */
export async function exportByDownload(
  page: Page,
  fileName: string,
  timeout = 60_000,
): Promise<{ name: string; bytes: Buffer }> {
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout }),
    page.getByTestId(`file-${fileName}`).getByRole('button', { name: 'Export' }).click(),
  ]);
  const failure = await download.failure();
  if (failure) throw new Error(`the download of ${fileName} failed: ${failure}`);
  return { name: download.suggestedFilename(), bytes: readFileSync(await download.path()) };
}
