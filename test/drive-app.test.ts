// The drive inside the engine (createApp's startDrive): it serves the vault, stops when the
// vault locks, and a read whose whole-file hash fails breaks the connection instead of
// ending the response as if whole.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/core/app';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { startDrive } from '../src/core/drive/server';
import { CorruptError } from '../src/core/errors';
import type { DriveStore } from '../src/core/drive/store';
import { folderInput } from './helpers/location-input';

const PASSPHRASE = 'drive app passphrase: four quiet herons';

/** A GET through node:http: the status, the bytes that came, and whether the response ended whole. */
function get(url: string, path: string): Promise<{ status: number; body: Buffer; complete: boolean; length: number }> {
  const u = new URL(url);
  const auth = `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, path, headers: { authorization: auth }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        const done = (complete: boolean): void =>
          resolve({
            status: res.statusCode!,
            body: Buffer.concat(chunks),
            complete,
            length: Number(res.headers['content-length']),
          });
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(res.complete));
        res.on('aborted', () => done(false));
        res.on('error', () => done(false));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A bodiless request with extra headers: its status. */
function send(url: string, method: string, path: string, headers: Record<string, string>): Promise<number> {
  const u = new URL(url);
  const auth = `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, method, path, headers: { authorization: auth, ...headers }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the drive in the engine', () => {
  it('serves the vault, counts as use of it, and stops when the vault locks', async () => {
    const root = mkdtempSync(join(tmpdir(), 'shardvault-drive-app-'));
    let requests = 0;
    const app = createApp({
      profileDir: join(root, 'profile'),
      insecureKdf: INSECURE_TEST_KDF,
      onDriveActivity: () => requests++,
    });
    try {
      for (const dir of ['a', 'b', 'c']) mkdirSync(join(root, dir));
      const locations = ['a', 'b', 'c'].map((d) => folderInput(join(root, d)));
      await app.createVault({ locations, survive: 1, secretAgainst: 1, passphrase: PASSPHRASE });
      const bytes = randomBytes(70_000);
      await app.putStream({ name: 'notes/today.txt', data: once(bytes) });
      expect(await app.driveStatus()).toBeNull();
      const drive = await app.startDrive();
      expect(await app.startDrive()).toEqual(drive); // one at a time
      expect(await app.driveStatus()).toEqual(drive);
      const read = await get(drive.url, '/notes/today.txt');
      expect(read.status).toBe(200);
      expect(read.body.equals(bytes)).toBe(true);
      expect(requests).toBe(1); // the auto-lock is told of the drive's use
      await app.lock();
      expect(await app.driveStatus()).toBeNull();
      await expect(get(drive.url, '/notes/today.txt')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await app.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("moves a folder in one commit (the engine's mv), its empty subfolder too", async () => {
    const root = mkdtempSync(join(tmpdir(), 'shardvault-drive-move-'));
    const app = createApp({ profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF });
    try {
      for (const dir of ['a', 'b', 'c']) mkdirSync(join(root, dir));
      const locations = ['a', 'b', 'c'].map((d) => folderInput(join(root, d)));
      await app.createVault({ locations, survive: 1, secretAgainst: 1, passphrase: PASSPHRASE });
      const bytes = randomBytes(5_000);
      for (const name of ['notes/a.txt', 'notes/b.txt', 'notes/sub/c.txt', 'notes/empty/'])
        await app.putStream({ name, data: once(name.endsWith('/') ? Buffer.alloc(0) : bytes) });
      const drive = await app.startDrive();
      const moved = await send(drive.url, 'MOVE', '/notes', { destination: `${drive.url}moved` });
      expect(moved).toBe(201);
      const names = (await app.listFiles()).map((f) => f.name).sort();
      expect(names).toEqual(['moved/a.txt', 'moved/b.txt', 'moved/empty/', 'moved/sub/c.txt']);
      const mvs = (await app.accessLog()).filter((e) => e.action === 'mv');
      expect(mvs).toHaveLength(1);
      expect(mvs[0]!.detail).toMatch(/moved to moved\//);
      const read = await get(drive.url, '/moved/sub/c.txt');
      expect(read.body.equals(bytes)).toBe(true);
    } finally {
      await app.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('breaks the connection when the whole-file hash fails after the last segment', async () => {
    // A vault can't be made to fail its hash with frames that authenticate (that takes a
    // forged manifest), so this store gives out real-looking segments and then fails as
    // readShards does: every segment given, then CorruptError.
    const content = randomBytes(3 * 1000);
    const store: DriveStore = {
      files: () => [{ name: 'x.bin', size: content.length, sha256: '0'.repeat(64), created: new Date().toISOString() }],
      read: async (_name, _from, sink) => {
        for (let s = 0; s < 3; s++)
          await sink({ offset: s * 1000, last: s === 2, bytes: [content.subarray(s * 1000, (s + 1) * 1000)] });
        throw new CorruptError('the rebuilt file does not match its recorded SHA-256; nothing was written');
      },
      write: () => Promise.reject(new Error('not here')),
      remove: () => Promise.reject(new Error('not here')),
      move: () => Promise.reject(new Error('not here')),
      moveFolder: () => Promise.reject(new Error('not here')),
      copy: () => Promise.reject(new Error('not here')),
    };
    const drive = await startDrive(store);
    try {
      const read = await get(drive.url, '/x.bin');
      expect(read.status).toBe(200);
      expect(read.length).toBe(content.length);
      expect(read.complete).toBe(false);
      // The last segment was held back: the client never got the whole file.
      expect(read.body.length).toBeLessThanOrEqual(2000);
      expect(read.body.equals(content.subarray(0, read.body.length))).toBe(true);
    } finally {
      await drive.close();
    }
  });
});

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield bytes;
}
