// "Open" in the desktop app (src/main/opened-files.ts) over the real engine: the file is
// exported, verified, into a private folder (0700) and handed to the OS's opener; a lock's
// wipe removes every such copy. shell.openPath is the one stand-in (it would start an app).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/core/app';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { OpenedFiles } from '../src/main/opened-files';
import { folderInput } from './helpers/location-input';

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield bytes;
}

describe('Open in the desktop app', () => {
  it('exports into a private folder, opens it there, and wipes it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'shardvault-opened-'));
    const app = createApp({ profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF });
    try {
      for (const dir of ['a', 'b', 'c']) mkdirSync(join(root, dir));
      const locations = ['a', 'b', 'c'].map((d) => folderInput(join(root, d)));
      await app.createVault({ locations, survive: 1, secretAgainst: 1, passphrase: 'opened files test passphrase 9' });
      const bytes = randomBytes(20_000);
      await app.putStream({ name: 'taxes/2025.pdf', data: once(bytes) });
      const opened: string[] = [];
      const files = new OpenedFiles(app, (path) => {
        opened.push(path);
        return Promise.resolve('');
      });
      await files.open('taxes/2025.pdf');
      expect(opened).toHaveLength(1);
      const path = opened[0]!;
      expect(basename(path)).toBe('2025.pdf');
      expect(readFileSync(path).equals(bytes)).toBe(true);
      expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
      await files.wipe();
      expect(existsSync(dirname(path))).toBe(false);

      const refusing = new OpenedFiles(app, () => Promise.resolve('no application for .pdf'));
      await expect(refusing.open('taxes/2025.pdf')).rejects.toThrow(/no application for \.pdf/);
      await refusing.wipe();
    } finally {
      await app.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('Open of a program', () => {
  it('is refused before anything is exported: the OS would run it, not open it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'shardvault-opened-'));
    const app = createApp({ profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF });
    const temp = join(root, 'tmp');
    const savedTmp = process.env['TMPDIR'];
    try {
      for (const dir of ['a', 'b', 'c', 'tmp']) mkdirSync(join(root, dir));
      const locations = ['a', 'b', 'c'].map((d) => folderInput(join(root, d)));
      await app.createVault({ locations, survive: 1, secretAgainst: 1, passphrase: 'opened programs passphrase 7' });
      process.env['TMPDIR'] = temp;
      const opened: string[] = [];
      const files = new OpenedFiles(app, (path) => {
        opened.push(path);
        return Promise.resolve('');
      });
      // A page that can rename a file (moveName) could otherwise make any stored bytes a
      // program and have Open start it: Windows runs .bat and .exe, macOS .command, a Linux
      // desktop a .desktop launcher, none of them with a download's warning.
      const programs = ['tools/setup.exe', 'run.BAT', 'notes.txt.cmd', 'x.js', 'a.command', 'b.desktop', 'c.exe. .'];
      for (const name of programs) {
        await app.putStream({ name, data: once(new TextEncoder().encode('echo owned')) });
        await expect(files.open(name), name).rejects.toThrow(/is a program.*Export it/);
      }
      expect(opened).toEqual([]);
      expect(readdirSync(temp)).toEqual([]);
      // Documents still open.
      await app.putStream({ name: 'letter.pdf', data: once(new TextEncoder().encode('%PDF')) });
      await files.open('letter.pdf');
      expect(opened.map((p) => basename(p))).toEqual(['letter.pdf']);
      await files.wipe();
    } finally {
      if (savedTmp === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = savedTmp;
      await app.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
