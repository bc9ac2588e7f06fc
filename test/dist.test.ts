// Installers: electron-builder packs the app. Electron itself can't be downloaded here, so
// the pack runs `--linux dir` against a stand-in Electron folder (FIELD-NOTES) and checks
// what went into app.asar: the built main, preload and renderer, nothing from src/ or test/,
// no source maps, and only the runtime dependencies. The stand-in binary carries a fuse wire
// laid out as Electron's (sentinel, version byte, length byte, one byte per fuse, with
// Electron's defaults), so the fuses electron-builder.yml asks for can be read back from the
// packed binary.
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
// Installed with electron-builder, which flips the fuses with it.
const fuses = require('@electron/fuses') as {
  FuseV1Options: Record<string, number>;
  getCurrentFuseWire(binary: string): Promise<Record<string, number | string>>;
};
const fuseConstants = require('@electron/fuses/dist/constants.js') as { SENTINEL: string };

/** Where Electron's binary keeps its fuses: a sentinel, then the fuse wire. */
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Electron's fuse wire as it ships (build/fuses/fuses.json5 in Electron's source): version 1,
 * eight fuses, '1' on and '0' off, in the order of @electron/fuses' FuseV1Options. */
const SHIPPED_WIRE = '10110001';
const STAND_IN_SCRIPT = '#!/bin/sh\necho stand-in\nexit 0\n';
const root = path.resolve(import.meta.dirname, '..');
let work: string;
let files: string[];
let archive: string;
let binary: string;
/** The packed Linux executable: package.json's name (electron-builder's executableName default). */
const executableName = 'shardvault';

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
  await fs.writeFile(
    path.join(electron, 'electron'),
    Buffer.concat([
      Buffer.from(STAND_IN_SCRIPT),
      Buffer.from(SENTINEL, 'latin1'),
      Buffer.from([1, SHIPPED_WIRE.length]),
      Buffer.from(SHIPPED_WIRE, 'latin1'),
      Buffer.from('\n'),
    ]),
    { mode: 0o755 },
  );
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
  binary = path.join(work, 'dist/linux-unpacked', executableName);
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

describe('the fuses of the packed binary', () => {
  /** Each fuse as electron-builder.yml sets it: '1' on, '0' off. */
  const configured: Record<string, '0' | '1'> = {
    RunAsNode: '0',
    EnableCookieEncryption: '1',
    EnableNodeOptionsEnvironmentVariable: '0',
    EnableNodeCliInspectArguments: '0',
    EnableEmbeddedAsarIntegrityValidation: '1',
    OnlyLoadAppFromAsar: '1',
    LoadBrowserProcessSpecificV8Snapshot: '0',
    GrantFileProtocolExtraPrivileges: '0',
  };

  it('carry one fuse wire, version 1, eight fuses, and the rest of the binary untouched', async () => {
    expect(fuseConstants.SENTINEL).toBe(SENTINEL);
    const bytes = await fs.readFile(binary);
    const at = bytes.indexOf(SENTINEL, 0, 'latin1');
    expect(at).toBe(STAND_IN_SCRIPT.length);
    expect(bytes.indexOf(SENTINEL, at + 1, 'latin1')).toBe(-1);
    expect(bytes[at + SENTINEL.length]).toBe(1); // fuse wire version
    expect(bytes[at + SENTINEL.length + 1]).toBe(SHIPPED_WIRE.length);
    expect(bytes.length).toBe(STAND_IN_SCRIPT.length + SENTINEL.length + 2 + SHIPPED_WIRE.length + 1);
    expect(bytes.subarray(0, at).toString('latin1')).toBe(STAND_IN_SCRIPT);
  });

  it('are each set as electron-builder.yml says, read byte by byte and by @electron/fuses', async () => {
    const bytes = await fs.readFile(binary);
    const start = bytes.indexOf(SENTINEL, 0, 'latin1') + SENTINEL.length + 2;
    const wire = bytes.subarray(start, start + SHIPPED_WIRE.length).toString('latin1');
    const read = await fuses.getCurrentFuseWire(binary);
    expect(read['version']).toBe('1');
    for (const [name, state] of Object.entries(configured)) {
      const index = fuses.FuseV1Options[name];
      expect(index, name).toBeTypeOf('number');
      expect(wire[index!], name).toBe(state);
      expect(read[String(index)], name).toBe(state.charCodeAt(0));
    }
    // Every fuse of the wire is named above, and the pack changed the shipped defaults.
    expect(Object.keys(configured)).toHaveLength(SHIPPED_WIRE.length);
    expect(wire).not.toBe(SHIPPED_WIRE);
  });
});
