/**
 * SFTP in the field through the built CLI (issue 10): a location added by URL with
 * --trust-new-host-key, tested past the few MiB a server buffers, and removed, each command
 * exiting on its own (no SSH connection left open), against a real OpenSSH server and
 * `rclone serve sftp` with its default flags.
 */
import { mkdir } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRclone, type RcloneServer } from './servers/rclone';
import { startSshd, type SshdServer } from './servers/sshd';
import { ensureBuilt, parseJson, runCli, sha256File, TempRoot, writeRandomFile, type CliResult } from './helpers/cli';

const PASS = 'sftp field passphrase';
let root: TempRoot;
let home: string;
let sshd: SshdServer;
let rclone: RcloneServer;

/** Every command here must end by itself: SHARDVAULT_DEBUG makes a leftover connection say so. */
const cli = (args: string[], timeoutMs = 60_000, profile = home): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: profile, SHARDVAULT_PASSPHRASE: PASS, SHARDVAULT_DEBUG: '1' }, timeoutMs });

const POLICY = ['--survive', '1', '--secret-against', '1', '--insecure-kdf-cost', '10'];

function exitedCleanly(r: CliResult): void {
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/left open at exit/);
}

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-sftp-cli-');
  home = await root.dir('home');
  [sshd, rclone] = await Promise.all([startSshd(), startRclone('sftp', { cacheWrites: false })]);
  const [a, b, c] = await root.locations('folders', 3);
  exitedCleanly(await cli(['init', '--location', `${a}#a`, '--location', `${b}#b`, '--location', `${c}#c`, ...POLICY]));
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([sshd?.stop(), rclone?.stop()]);
  await root?.cleanup();
});

describe('an SFTP location from the CLI', () => {
  it('is added with --trust-new-host-key (no fingerprint), pinned, and the command exits', async () => {
    const spec = `sftp://${sshd.user}@${sshd.host}:${sshd.port}${sshd.dataDir}?identity=${sshd.keyPath}#srv`;
    const added = await cli(['location', 'add', spec, '--trust-new-host-key']);
    exitedCleanly(added);
    const list = parseJson<{ name: string; display: string }[]>(await cli(['location', 'list', '--json']));
    expect(list.map((l) => l.name)).toEqual(['a', 'b', 'c', 'srv']);
    // Without the flag, a script is refused, naming the flag (no prompt without a terminal).
    const other = nodePath.join(sshd.dataDir, 'other');
    await mkdir(other);
    const again = await cli(['location', 'add', spec.replace(sshd.dataDir, other).replace('#srv', '#srv2')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--trust-new-host-key/);
  }, 60_000);

  it('is tested with 8 MiB written and read back, and the command exits', async () => {
    const r = await cli(['location', 'test', 'srv', '--json']);
    exitedCleanly(r);
    expect(parseJson<{ reachable: boolean; roundTripMs: number }>(r).reachable).toBe(true);
    const human = await cli(['location', 'test', 'srv']);
    expect(human.stdout).toMatch(/8 MiB written, read back and deleted/);
  }, 60_000);

  it('is removed, and the command exits on its own (no connection left open)', async () => {
    // Before the fix `location remove` printed "Removed srv" and never exited.
    const r = await cli(['location', 'remove', 'srv'], 30_000);
    exitedCleanly(r);
    expect(r.stdout).toMatch(/^Removed srv/);
  }, 60_000);

  it('takes large files on rclone serve sftp with its default flags (it cannot seek)', async () => {
    // A vault of its own, so that rc holds a shard of every file (n = 3 over 3 locations).
    const profile = await root.dir('home-rc');
    const [x, y] = await root.locations('folders-rc', 2);
    const spec =
      `sftp://${rclone.user}:${encodeURIComponent(rclone.password)}@${rclone.host}:${rclone.port}${rclone.root}` +
      `?fingerprint=${rclone.fingerprint!}#rc`;
    exitedCleanly(
      await cli(
        ['init', '--location', `${x}#x`, '--location', spec, '--location', `${y}#y`, ...POLICY],
        60_000,
        profile,
      ),
    );
    const t = await cli(['location', 'test', 'rc', '--json'], 60_000, profile);
    exitedCleanly(t);
    expect(parseJson<{ reachable: boolean; error: string | null }>(t)).toMatchObject({ reachable: true, error: null });
    const file = nodePath.join(root.path, 'big.bin');
    const sum = await writeRandomFile(file, 12 << 20);
    exitedCleanly(await cli(['put', file], 60_000, profile));
    const placement = await cli(['placement', 'big.bin'], 60_000, profile);
    expect(placement.stdout).toMatch(/rc:ok/);
    const out = nodePath.join(root.path, 'big.out');
    exitedCleanly(await cli(['get', 'big.bin', '--output', out], 60_000, profile));
    expect(await sha256File(out)).toBe(sum);
  }, 120_000);
});
