// Installers: electron-builder packs the app. Electron itself can't be downloaded here, so
// the pack runs `--linux dir` against a stand-in Electron folder (FIELD-NOTES) and checks
// what went into app.asar: the built main, preload and renderer, nothing from src/ or test/,
// no source maps, and only the runtime dependencies.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const asar = require('@electron/asar') as {
  listPackage(archive: string, options?: object): string[];
  extractFile(archive: string, file: string): Buffer;
};
const root = path.resolve(import.meta.dirname, '..');
let work: string;
let files: string[];
let archive: string;

beforeAll(async () => {
  for (const built of [
    'out/main/index.js',
    'out/main/seal-worker.js',
    'out/preload/index.cjs',
    'out/renderer/index.html',
  ]) {
    await fs.stat(path.join(root, built)).catch(() => {
      throw new Error(`${built} is missing: run npm run build first`);
    });
  }
  work = await fs.mkdtemp(path.join(tmpdir(), 'shardvault-dist-'));
  const electron = path.join(work, 'electron-dist');
  await fs.mkdir(electron);
  await fs.writeFile(path.join(electron, 'electron'), '#!/bin/sh\necho stand-in\n', { mode: 0o755 });
  const version = (
    JSON.parse(await fs.readFile(path.join(root, 'node_modules/electron/package.json'), 'utf8')) as { version: string }
  ).version;
  execFileSync(
    process.execPath,
    [
      path.join(root, 'node_modules/electron-builder/cli.js'),
      '--linux',
      'dir',
      `--config.electronDist=${electron}`,
      `--config.electronVersion=${version}`,
      `--config.directories.output=${path.join(work, 'dist')}`,
    ],
    { cwd: root, stdio: 'pipe', timeout: 240_000 },
  );
  archive = path.join(work, 'dist/linux-unpacked/resources/app.asar');
  files = asar.listPackage(archive, { isPack: false }).map((f) => f.replace(/\\/g, '/'));
}, 300_000);

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('electron-builder --linux dir', () => {
  it('packs the built app and its entry point', () => {
    for (const f of [
      '/out/main/index.js',
      '/out/main/seal-worker.js',
      '/out/preload/index.cjs',
      '/out/renderer/index.html',
      '/package.json',
    ]) {
      expect(files).toContain(f);
    }
    const pkg = JSON.parse(asar.extractFile(archive, 'package.json').toString('utf8')) as { main: string };
    expect(files).toContain(`/${pkg.main}`);
  });

  it('leaves out sources, tests, maps and build-time packages', () => {
    expect(files.filter((f) => /^\/(src|test|docs|scripts)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const modules = new Set(files.filter((f) => f.startsWith('/node_modules/')).map((f) => f.split('/')[2]));
    for (const devOnly of [
      'react',
      'react-dom',
      'electron',
      'vite',
      'vitest',
      'typescript',
      'playwright-core',
      'webdav',
    ]) {
      expect(modules.has(devOnly), devOnly).toBe(false);
    }
    for (const runtime of ['ssh2', 'ssh2-sftp-client', 'shamir-secret-sharing'])
      expect(modules.has(runtime), runtime).toBe(true);
  });
});
