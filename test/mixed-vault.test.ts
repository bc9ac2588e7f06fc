// Issue 3's "done when", end to end through the CLI: one vault over six locations of mixed
// kinds (a folder, OpenSSH SFTP, rclone WebDAV, Apache WebDAV, S3 on s3rver, a folder), all
// real servers started here. Files go in and come back byte for byte; with any two locations stopped
// the vault still unlocks and reads, and `status` says which are down; nothing on any
// server holds a file name or plaintext; credentials never reach the profile in the clear.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../src/shared/api';
import { startApache, type ApacheServer } from './servers/apache';
import { startRclone, type RcloneServer } from './servers/rclone';
import { startS3rver, type S3rverServer } from './servers/s3rver';
import { startSshd, type SshdServer } from './servers/sshd';
import {
  ensureBuilt,
  filesContaining,
  parseJson,
  runCli,
  sha256File,
  TempRoot,
  writeRandomFile,
  type CliResult,
} from './helpers/cli';

const PASS = 'mixed locations passphrase';
let root: TempRoot;
let home: string;
let sshd: SshdServer;
let rclone: RcloneServer;
let apache: ApacheServer;
let s3: S3rverServer;
/** s3rver checks the access key ID only, so any secret key goes: one no other string holds. */
const S3_SECRET = `s3+secret/${randomBytes(6).toString('hex')}`;
const folders: string[] = [];
const files = new Map<string, string>(); // name -> sha256
const names = ['folder-a', 'vps-sftp', 'nas-rclone', 'nextcloud-apache', 'bucket-s3', 'folder-b'];

const cli = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS, ...extra }, timeoutMs: 120_000 });

function webdavSpec(url: string, user: string, password: string, name: string): string {
  const u = new URL(url);
  return `webdav+http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${u.host}${u.pathname}#${name}`;
}

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-mixed-');
  home = await root.dir('home');
  folders.push(await root.dir('folder-a'), await root.dir('folder-b'));
  [sshd, rclone, apache, s3] = await Promise.all([startSshd(), startRclone('webdav'), startApache(), startS3rver()]);
  const specs = [
    `${folders[0]}#${names[0]}`,
    `sftp://${sshd.user}@${sshd.host}:${sshd.port}${sshd.dataDir}?identity=${sshd.keyPath}&fingerprint=${sshd.fingerprint}#${names[1]}`,
    webdavSpec(rclone.url, rclone.user, rclone.password, names[2]!),
    webdavSpec(apache.url, apache.user, apache.password, names[3]!),
    `s3+http://${s3.accessKeyId}:${encodeURIComponent(S3_SECRET)}@${s3.host}:${s3.port}/${s3.bucket}/vault#${names[4]}`,
    `${folders[1]}#${names[5]}`,
  ];
  const init = await cli([
    'init',
    ...specs.flatMap((s) => ['--location', s]),
    '--survive',
    '2',
    '--secret-against',
    '2',
    '--insecure-kdf-cost',
    '10',
    '--segment-size',
    '262144',
    '--json',
  ]);
  expect(init.code, init.stderr).toBe(0);
  expect(init.stderr).toMatch(/password in a location URL/); // warned, and documented in README
});

afterAll(async () => {
  await Promise.allSettled([sshd?.stop(), rclone?.stop(), apache?.stop(), s3?.stop()]);
  await root?.cleanup();
});

async function put(name: string, size: number): Promise<void> {
  const path = nodePath.join(root.path, name);
  files.set(name, await writeRandomFile(path, size));
  const r = await cli(['put', path, '--name', name]);
  expect(r.code, r.stderr).toBe(0);
}

async function readAll(): Promise<void> {
  for (const [name, hash] of files) {
    const out = nodePath.join(root.path, `out-${randomBytes(4).toString('hex')}`);
    const r = await cli(['get', name, '--output', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(out)).toBe(hash);
    await fs.rm(out);
  }
}

async function status(): Promise<Map<string, boolean>> {
  const r = await cli(['status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return new Map(parseJson<StatusReport>(r).locations.map((l) => [l.name, l.reachable]));
}

describe('a vault over a folder, OpenSSH SFTP, rclone WebDAV, Apache WebDAV, S3 and a folder', () => {
  it('stores and returns files byte for byte', async () => {
    await put('tax-return-2026.pdf', 3 * 1024 * 1024 + 17);
    await put('empty.txt', 0);
    await put('passport-scan.jpg', 700_000);
    await readAll();
    expect([...(await status()).values()]).toEqual([true, true, true, true, true, true]);
    // The S3 location holds shards below its prefix, like every other location.
    expect((await fs.readdir(nodePath.join(s3.dataDir))).length).toBeGreaterThan(0);
    const verify = await cli(['verify', '--json']);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('keeps no file name, plaintext or password on any server, nor a password in the profile', async () => {
    const plain = await fs.readFile(nodePath.join(root.path, 'passport-scan.jpg'));
    const needles = [
      Buffer.from('passport-scan'),
      Buffer.from('tax-return'),
      plain.subarray(1000, 1032),
      Buffer.from(apache.password),
      Buffer.from(S3_SECRET),
    ];
    for (const dir of [...folders, sshd.dataDir, rclone.dataDir, apache.dataDir, s3.dataDir]) {
      for (const needle of needles) expect(await filesContaining(dir, needle), dir).toEqual([]);
    }
    const profile = await fs.readFile(nodePath.join(home, 'profile.json'), 'utf8');
    expect(profile).not.toContain(apache.password);
    expect(profile).not.toContain(rclone.password);
    expect(profile).not.toContain(S3_SECRET);
    expect(profile).not.toContain(encodeURIComponent(S3_SECRET));
    // Its stored address is the SPEC without the secret; the key is sealed like a password.
    const stored = (
      JSON.parse(profile) as { locations: { name: string; spec: string; sealedSecrets: string | null }[] }
    ).locations.find((l) => l.name === 'bucket-s3');
    expect(stored?.spec).toBe(`s3+http://${s3.accessKeyId}@${s3.host}:${s3.port}/${s3.bucket}/vault`);
    expect(stored?.sealedSecrets).toMatch(/^[A-Za-z0-9+/=]{40,}$/);
  });

  it('with any two locations stopped it still reads, and status says which are down', async () => {
    // Stop two servers at once (the processes die; their data folders stay).
    const stopped = [sshd, apache];
    await Promise.all(stopped.map((s) => s.kill()));
    const reach = await status();
    expect(reach.get('vps-sftp')).toBe(false);
    expect(reach.get('nextcloud-apache')).toBe(false);
    expect([...reach.values()].filter(Boolean)).toHaveLength(4);
    await readAll();
    // A store that asks for five locations (--happy 5) is refused, nothing visible.
    const path = nodePath.join(root.path, 'while-down.bin');
    const hash = await writeRandomFile(path, 1000);
    const refused = await cli(['put', path, '--happy', '5']);
    expect(refused.code).toBe(4);
    const ls = await cli(['ls', '--json']);
    expect(parseJson<{ name: string }[]>(ls).map((f) => f.name)).not.toContain('while-down.bin');
    // By default it goes ahead: the shards meant for the two servers wait on the four
    // present (the folders, rclone's WebDAV and S3), and it says what that costs.
    const stored = await cli(['put', path]);
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.stderr).toMatch(/while-down\.bin survives 1 more loss until vps-sftp and nextcloud-apache return/);
    files.set('while-down.bin', hash);
    await readAll();
  });

  it('with three stopped, reading fails cleanly (exit 4) and writes nothing', async () => {
    const unplugged = `${folders[0]}.away`;
    await fs.rename(folders[0]!, unplugged);
    try {
      const out = nodePath.join(root.path, 'should-not-exist');
      const r = await cli(['get', 'passport-scan.jpg', '--output', out]);
      expect(r.code).toBe(4);
      await expect(fs.stat(out)).rejects.toThrow();
    } finally {
      await fs.rename(unplugged, folders[0]!);
    }
  });
});
