/**
 * A new machine needs only credentials (issue 10, item 7), through the built CLI with two
 * profiles (two SHARDVAULT_HOME folders) over two folders and a real OpenSSH server that
 * takes only a key with a passphrase. Machine A makes the vault; machine B opens it from the
 * two folders alone and learns from the sealed vault head where the server is and which host
 * key it must show: the server "needs sign-in" (not offline, no file "lost"), `location login`
 * asks only for the key's passphrase, refuses a server showing another host key, and then
 * every file reads back byte for byte.
 */
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileEntry, StatusReport } from '../src/shared/api';
import { makeKeyPair, startSshd, type SshdServer } from './servers/sshd';
import { ensureBuilt, parseJson, runCli, sha256File, TempRoot, writeRandomFile, type CliResult } from './helpers/cli';

const PASS = 'new machine vault passphrase';
const KEY_WORDS = 'the passphrase of the ssh key';
let root: TempRoot;
let sshd: SshdServer;
let homeA: string;
let homeB: string;
let keyFile: string;
let folders: string[];
const sums = new Map<string, string>();

const cli = (home: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(args, {
    env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS, SHARDVAULT_DEBUG: '1', ...env },
    timeoutMs: 60_000,
  });

function ok(r: CliResult): CliResult {
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/left open at exit/);
  return r;
}

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-new-machine-');
  [homeA, homeB] = await Promise.all([root.dir('machine-a'), root.dir('machine-b')]);
  sshd = await startSshd();
  keyFile = nodePath.join(root.path, 'id_ed25519');
  makeKeyPair(keyFile, KEY_WORDS);
  sshd.authorize(`${keyFile}.pub`);
  folders = await root.locations('folders', 2);
  const server = `sftp://${sshd.user}@${sshd.host}:${sshd.port}${sshd.dataDir}?identity=${keyFile}&fingerprint=${sshd.fingerprint}#srv`;
  // k = 3 of n = 3: no file reads without the server; t = 2: the two folders unlock.
  ok(
    await cli(
      homeA,
      ['init', '--location', `${folders[0]}#a`, '--location', `${folders[1]}#b`, '--location', server].concat([
        '--data',
        '3',
        '--total',
        '3',
        '--threshold',
        '2',
        '--insecure-kdf-cost',
        '10',
      ]),
      { SHARDVAULT_SFTP_KEY_PASSPHRASE: KEY_WORDS },
    ),
  );
  for (const [name, size] of [
    ['taxes.pdf', 300_000],
    ['empty', 0],
  ] as const) {
    const file = nodePath.join(root.path, name);
    sums.set(name, await writeRandomFile(file, size));
    ok(await cli(homeA, ['put', file], { SHARDVAULT_SFTP_KEY_PASSPHRASE: KEY_WORDS }));
  }
}, 120_000);

afterAll(async () => {
  await sshd?.stop();
  await root?.cleanup();
});

describe('a new machine', () => {
  it('opens from the folders alone and learns the server, which needs sign-in (no file lost)', async () => {
    ok(await cli(homeB, ['open', '--location', `${folders[0]}#a`, '--location', `${folders[1]}#b`]));
    const status = parseJson<StatusReport>(ok(await cli(homeB, ['status', '--json'])));
    const srv = status.locations.find((l) => l.name === 'srv')!;
    expect(srv.reachable).toBe(false);
    expect(srv.signIn).toEqual({
      user: sshd.user,
      host: sshd.host,
      port: sshd.port,
      path: sshd.dataDir,
      keyFile,
      hostKey: sshd.fingerprint,
    });
    expect(status.locations.filter((l) => l.name !== 'srv').every((l) => l.reachable && l.signIn === null)).toBe(true);
    const human = ok(await cli(homeB, ['status'])).stdout;
    expect(human).toMatch(/^srv\s+sftp\s+needs sign-in/m);
    expect(human).toMatch(/shardvault location login srv/);
    const list = parseJson<{ name: string; needsSignIn: boolean }[]>(
      ok(await cli(homeB, ['location', 'list', '--json'])),
    );
    expect(list.map((l) => [l.name, l.needsSignIn])).toEqual([
      ['a', false],
      ['b', false],
      ['srv', true],
    ]);
    expect(ok(await cli(homeB, ['location', 'list'])).stdout).toMatch(/^srv\s+sftp\s+.*\(needs sign-in\)$/m);

    const files = parseJson<FileEntry[]>(ok(await cli(homeB, ['ls', '--json'])));
    expect(files.map((f) => [f.name, f.health, f.signIn]).sort()).toEqual([
      ['empty', 'unreachable', ['srv']],
      ['taxes.pdf', 'unreachable', ['srv']],
    ]);
    const ls = ok(await cli(homeB, ['ls'])).stdout;
    expect(ls).toMatch(/taxes\.pdf .* needs sign-in for srv/);
    expect(ls).not.toMatch(/\blost\b/);
  }, 60_000);

  it('a profile that knew the server only by an older head’s display learns its address at unlock', async () => {
    const profilePath = nodePath.join(homeB, 'profile.json');
    const saved = await fs.readFile(profilePath, 'utf8');
    // As `open` left it before head version 3: the display as the spec, no host key, no flag.
    const old = JSON.parse(saved) as { locations: { name: string; spec: string; needsSignIn?: boolean }[] };
    const srv = old.locations.find((l) => l.name === 'srv')!;
    const display = `sftp://${sshd.user}@${sshd.host}:${sshd.port}${sshd.dataDir}`;
    expect(srv.spec.startsWith(`${display}?`)).toBe(true);
    srv.spec = display;
    delete srv.needsSignIn;
    await fs.writeFile(profilePath, JSON.stringify(old));
    const before = parseJson<StatusReport>(ok(await cli(homeB, ['status', '--json'])));
    expect(before.locations.find((l) => l.name === 'srv')).toMatchObject({ reachable: false, signIn: null });
    ok(await cli(homeB, ['ls'])); // unlocks: the profile follows the head
    const srvOf = (text: string): unknown =>
      (JSON.parse(text) as { locations: { name: string }[] }).locations.find((l) => l.name === 'srv');
    expect(srvOf(await fs.readFile(profilePath, 'utf8'))).toEqual(srvOf(saved));
    const after = parseJson<StatusReport>(ok(await cli(homeB, ['status', '--json'])));
    expect(after.locations.find((l) => l.name === 'srv')!.signIn?.hostKey).toBe(sshd.fingerprint);
  }, 60_000);

  it('refuses a sign-in to a server that shows another host key than the one pinned', async () => {
    const profilePath = nodePath.join(homeB, 'profile.json');
    const saved = await fs.readFile(profilePath, 'utf8');
    const other = makeKeyPair(nodePath.join(root.path, 'other_host_key'));
    expect(saved).toContain(sshd.fingerprint);
    // As if the server's key had changed since the vault pinned it.
    await fs.writeFile(profilePath, saved.split(sshd.fingerprint).join(other));
    try {
      const r = await cli(homeB, ['location', 'login', 'srv'], { SHARDVAULT_SFTP_KEY_PASSPHRASE: KEY_WORDS });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("the server's host key has changed");
      expect(r.stderr).toContain(other);
      expect(r.stderr).toContain(sshd.fingerprint);
      expect(await fs.readFile(profilePath, 'utf8')).toContain('"needsSignIn": true');
    } finally {
      await fs.writeFile(profilePath, saved);
    }
  }, 60_000);

  it('refuses a wrong key passphrase and stays signed out', async () => {
    const r = await cli(homeB, ['location', 'login', 'srv'], { SHARDVAULT_SFTP_KEY_PASSPHRASE: 'not the words' });
    expect(r.code).not.toBe(0);
    const status = parseJson<StatusReport>(ok(await cli(homeB, ['status', '--json'])));
    expect(status.locations.find((l) => l.name === 'srv')!.signIn).not.toBeNull();
  }, 60_000);

  it('signs in with only the key passphrase, and then reads every file back', async () => {
    const signed = ok(
      await cli(homeB, ['location', 'login', 'srv'], { SHARDVAULT_SFTP_KEY_PASSPHRASE: KEY_WORDS }),
    ).stdout;
    expect(signed).toMatch(/^Signed in to srv/);
    // From here on the passphrase is sealed in B's profile: no environment variable needed.
    const status = parseJson<StatusReport>(ok(await cli(homeB, ['status', '--json'])));
    expect(status.locations.map((l) => [l.name, l.reachable, l.signIn])).toEqual([
      ['a', true, null],
      ['b', true, null],
      ['srv', true, null],
    ]);
    const files = parseJson<FileEntry[]>(ok(await cli(homeB, ['ls', '--json'])));
    expect(files.map((f) => f.health)).toEqual(['healthy', 'healthy']);
    for (const [name, sum] of sums) {
      const out = nodePath.join(root.path, `${name}.from-b`);
      ok(await cli(homeB, ['get', name, '--output', out]));
      expect(await sha256File(out)).toBe(sum);
    }
  }, 60_000);
});
