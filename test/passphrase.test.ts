/**
 * `shardvault passphrase change` end to end (issue 13): the built CLI over real folders (and
 * one rclone WebDAV location for a second device's sealed credentials). A change must never
 * leave the vault with neither passphrase working, however it is cut short.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BIN,
  childEnv,
  ensureBuilt,
  parseJson,
  runCli,
  sha256File,
  TempRoot,
  unplug,
  writeRandomFile,
  type CliResult,
} from './helpers/cli';
import { startRclone, type RcloneServer } from './servers/rclone';

const OLD = 'correct horse battery staple';
const NEW = 'violet otter juggles seven lanterns';
const POLICY = ['--data', '2', '--total', '3', '--threshold', '2'];

let root: TempRoot;

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-passphrase-');
});

afterAll(async () => {
  await root?.cleanup();
});

interface V {
  readonly home: string;
  readonly locations: string[];
  readonly recoveryCode: string;
  readonly file: string;
  readonly sha: string;
  run(args: readonly string[], env?: Record<string, string | undefined>): Promise<CliResult>;
}

/** A 2-of-3 vault over three folders holding one 200 KiB file. */
async function makeVault(name: string, specs?: (locations: string[]) => string[]): Promise<V> {
  const base = await root.dir(name);
  const home = nodePath.join(base, 'home');
  const locations = await root.locations(name, 3);
  const run: V['run'] = (args, env = {}) =>
    runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: OLD, ...env } });
  const init = await run([
    'init',
    ...(specs ? specs(locations) : locations).flatMap((l) => ['--location', l]),
    ...POLICY,
    '--insecure-kdf-cost',
    '10',
    '--segment-size',
    '65536',
    '--json',
  ]);
  expect(init.code, init.stderr).toBe(0);
  const file = nodePath.join(base, 'file.bin');
  const sha = await writeRandomFile(file, 200 * 1024);
  const put = await run(['put', file, '--name', 'file.bin']);
  expect(put.code, put.stderr).toBe(0);
  return { home, locations, recoveryCode: parseJson<{ recoveryCode: string }>(init).recoveryCode, file, sha, run };
}

/** Whether `passphrase` unlocks the vault and gives the stored file back whole: the exit code of get (0 then). */
async function opens(v: V, passphrase: string, env: Record<string, string> = {}): Promise<number> {
  const out = nodePath.join(nodePath.dirname(v.file), `out-${Math.random().toString(36).slice(2)}`);
  const r = await v.run(['get', 'file.bin', '--output', out], { SHARDVAULT_PASSPHRASE: passphrase, ...env });
  if (r.code === 0) expect(await sha256File(out)).toBe(v.sha);
  await fs.rm(out, { force: true });
  return r.code;
}

/** The key-share object names each location folder holds. */
async function keyShares(locations: readonly string[]): Promise<string[][]> {
  return Promise.all(
    locations.map(async (l) => (await fs.readdir(nodePath.join(l, 'keys'))).filter((n) => /^\d{10}$/.test(n)).sort()),
  );
}

function change(v: V, extra: readonly string[] = [], env: Record<string, string> = {}): Promise<CliResult> {
  return v.run(['passphrase', 'change', ...extra, '--json'], { SHARDVAULT_NEW_PASSPHRASE: NEW, ...env });
}

describe('passphrase change', () => {
  it('seals the shares under the new passphrase: the old one exits 3, the recovery code still opens', async () => {
    const v = await makeVault('basic');
    expect(await keyShares(v.locations)).toEqual([['0000000001'], ['0000000001'], ['0000000001']]);
    const r = await change(v);
    expect(r.code, r.stderr).toBe(0);
    const body = parseJson<{ reached: string[]; away: string[]; retired: boolean; recoveryCode: string | null }>(r);
    expect(body).toEqual({ reached: ['loc1', 'loc2', 'loc3'], away: [], retired: true, recoveryCode: null });
    // The old shares went; one new deal is left on every location.
    expect(await keyShares(v.locations)).toEqual([['0000000002'], ['0000000002'], ['0000000002']]);
    const old = await v.run(['ls']);
    expect({ code: old.code, stderr: old.stderr }).toEqual({
      code: 3,
      stderr: expect.stringMatching(/wrong passphrase/) as unknown,
    });
    expect(await opens(v, NEW)).toBe(0);
    // The change is in the access log, naming the locations whose shares were re-sealed.
    const log = await v.run(['log', '--json'], { SHARDVAULT_PASSPHRASE: NEW });
    expect(log.code, log.stderr).toBe(0);
    expect(log.stderr).not.toMatch(/audit log/);
    const changes = parseJson<{ action: string; detail: string | null; outcome: string; locations: string[] }[]>(
      log,
    ).filter((e) => e.action === 'passphrase');
    expect(changes).toEqual([
      expect.objectContaining({
        detail: 'new passphrase',
        outcome: 'ok',
        locations: ['loc1', 'loc2', 'loc3'],
      }) as unknown,
    ]);

    // The recovery code from init opens on a new machine (which sets a passphrase of its own).
    const home = nodePath.join(await root.dir('basic-recovery'), 'home');
    const open = await runCli(['open', ...v.locations.flatMap((l) => ['--location', l]), '--recovery', '--json'], {
      env: {
        SHARDVAULT_HOME: home,
        SHARDVAULT_RECOVERY_CODE: v.recoveryCode,
        SHARDVAULT_PASSPHRASE: 'another fine passphrase for later',
      },
    });
    expect(open.code, open.stderr).toBe(0);
    expect(parseJson<{ files: number }>(open).files).toBe(1);
  });

  it('refuses a weak new passphrase (exit 2) and changes nothing', async () => {
    const v = await makeVault('weak');
    const r = await change(v, [], { SHARDVAULT_NEW_PASSPHRASE: 'password123' });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/too easy to guess/);
    expect(await keyShares(v.locations)).toEqual([['0000000001'], ['0000000001'], ['0000000001']]);
    expect(await opens(v, OLD)).toBe(0);
  });

  it('--new-recovery-code issues a new code and retires the old one', async () => {
    const v = await makeVault('newcode');
    const r = await change(v, ['--new-recovery-code']);
    expect(r.code, r.stderr).toBe(0);
    const code = parseJson<{ recoveryCode: string | null }>(r).recoveryCode;
    expect(code).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
    expect(code).not.toBe(v.recoveryCode);
    const attach = async (recoveryCode: string, name: string): Promise<CliResult> =>
      runCli(['open', ...v.locations.flatMap((l) => ['--location', l]), '--recovery', '--json'], {
        env: {
          SHARDVAULT_HOME: nodePath.join(await root.dir(name), 'home'),
          SHARDVAULT_RECOVERY_CODE: recoveryCode,
          SHARDVAULT_PASSPHRASE: 'another fine passphrase for later',
        },
      });
    const stale = await attach(v.recoveryCode, 'newcode-old');
    expect(stale.code).toBe(3);
    expect(stale.stdout).toMatch(/wrong recovery code/);
    const fresh = await attach(code!, 'newcode-new');
    expect(fresh.code, fresh.stderr).toBe(0);
  });

  it('catches up a location that was away when it is back', async () => {
    const v = await makeVault('away');
    const plugBack = await unplug(v.locations[2]!);
    const r = await change(v);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson<{ reached: string[]; away: string[]; retired: boolean }>(r)).toMatchObject({
      reached: ['loc1', 'loc2'],
      away: ['loc3'],
      retired: true,
    });
    // Every reachable location holds the new deal: the old passphrase no longer unlocks.
    expect(await opens(v, OLD)).toBe(3);
    await plugBack();
    expect(await keyShares(v.locations)).toEqual([['0000000002'], ['0000000002'], ['0000000001']]);
    // A reader writes nothing, even now: ls leaves the shares as they are.
    const ls = await v.run(['ls'], { SHARDVAULT_PASSPHRASE: NEW });
    expect(ls.code, ls.stderr).toBe(0);
    expect(await keyShares(v.locations)).toEqual([['0000000002'], ['0000000002'], ['0000000001']]);
    // The next writing command that reaches loc3 deals again over all three and retires the rest.
    const repaired = await v.run(['repair'], { SHARDVAULT_PASSPHRASE: NEW });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stderr).toMatch(/loc3 held an older deal of the key shares/);
    expect(await keyShares(v.locations)).toEqual([['0000000003'], ['0000000003'], ['0000000003']]);
    expect(await opens(v, OLD)).toBe(3);
    // With loc1 gone, loc3's caught-up share is needed: it opens with the new passphrase.
    const unplug1 = await unplug(v.locations[0]!);
    expect(await opens(v, NEW)).toBe(0);
    await unplug1();
  });

  it('a location that fails mid-change keeps the old shares: both passphrases open until it is caught up', async () => {
    const v = await makeVault('failing');
    // loc3's keys/ becomes a file-less trap: a folder named like the new share makes its write fail.
    await fs.mkdir(nodePath.join(v.locations[2]!, 'keys', '0000000002'));
    const r = await change(v);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson<{ reached: string[]; retired: boolean }>(r)).toMatchObject({
      reached: ['loc1', 'loc2'],
      retired: false,
    });
    expect(await opens(v, OLD)).toBe(0);
    expect(await opens(v, NEW)).toBe(0);
    await fs.rmdir(nodePath.join(v.locations[2]!, 'keys', '0000000002'));
    // Once loc3 takes writes again, the next writing command finishes the change.
    const repaired = await v.run(['repair'], { SHARDVAULT_PASSPHRASE: NEW });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(await opens(v, NEW)).toBe(0);
    expect(await opens(v, OLD)).toBe(3);
  });
});

// ------------------------------------------------------------------ cut short

type Stage = 'new shares written' | 'head committed' | 'old shares deleted';

/**
 * Runs the change and kills it (SIGKILL) as soon as the folders show `stage` begun: the first
 * new share on any location, a new shared head, or an old share gone. Polls the folders.
 */
async function changeKilledAt(v: V, stage: Stage): Promise<{ killed: boolean; seen: string }> {
  const headOf = async (l: string): Promise<number> => (await fs.stat(nodePath.join(l, 'head'))).mtimeMs;
  const heads = await Promise.all(v.locations.map(headOf));
  const child = spawn(process.execPath, [BIN, 'passphrase', 'change'], {
    env: childEnv({ SHARDVAULT_HOME: v.home, SHARDVAULT_PASSPHRASE: OLD, SHARDVAULT_NEW_PASSPHRASE: NEW }),
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let done = false;
  void ended.then(() => (done = true));
  const begun = async (): Promise<boolean> => {
    const shares = await keyShares(v.locations).catch(() => null);
    if (!shares) return false;
    if (stage === 'new shares written') return shares.some((s) => s.includes('0000000002'));
    if (stage === 'old shares deleted') return shares.some((s) => !s.includes('0000000001'));
    const now = await Promise.all(v.locations.map((l) => headOf(l).catch(() => 0)));
    return now.some((m, i) => m !== heads[i]);
  };
  while (!done && !(await begun())) await new Promise((r) => setImmediate(r));
  if (!done) child.kill('SIGKILL');
  const code = await ended;
  return { killed: code === null, seen: (await keyShares(v.locations)).map((s) => s.join('+')).join(' ') };
}

describe('a change cut short', () => {
  it.each<Stage>(['new shares written', 'head committed', 'old shares deleted'])(
    'killed once %s: one of the passphrases opens and the file reads back whole',
    async (stage) => {
      const v = await makeVault(`kill-${stage.replace(/ /g, '-')}`);
      const { killed, seen } = await changeKilledAt(v, stage);
      console.log(`[passphrase] kill once ${stage}: ${killed ? 'killed' : 'finished first'}; key shares ${seen}`);
      const oldCode = await opens(v, OLD);
      const newCode = await opens(v, NEW);
      expect([oldCode, newCode]).toContain(0);
      // Whichever passphrase opens can finish the change; afterwards only the new one opens.
      const current = newCode === 0 ? NEW : OLD;
      if (current === OLD) {
        const again = await change(v);
        expect(again.code, again.stderr).toBe(0);
      } else {
        const ls = await v.run(['repair'], { SHARDVAULT_PASSPHRASE: NEW });
        expect(ls.code, ls.stderr + ls.stdout).toBe(0);
      }
      expect(await opens(v, NEW)).toBe(0);
      expect(await opens(v, OLD)).toBe(3);
    },
  );
});

// ------------------------------------------------------------------ another device

describe('another device', () => {
  let dav: RcloneServer | null = null;

  beforeAll(async () => {
    dav = await startRclone('webdav');
  });

  afterAll(async () => {
    await dav?.stop();
  });

  it('asks once for the old passphrase and seals its own credentials again', async () => {
    const server = dav!;
    const url = new URL(server.url);
    const davSpec = `webdav+http://${server.user}:${encodeURIComponent(server.password)}@${url.host}${url.pathname}#dav`;
    const v = await makeVault('device-a', (ls) => [ls[0]!, ls[1]!, davSpec]);
    // Device B attaches with the same passphrase: its profile seals the WebDAV password under it.
    const homeB = nodePath.join(await root.dir('device-b'), 'home');
    const b = (args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> =>
      runCli(args, { env: { SHARDVAULT_HOME: homeB, SHARDVAULT_PASSPHRASE: OLD, ...env } });
    const open = await b(['open', '--location', v.locations[0]!, '--location', v.locations[1]!, '--location', davSpec]);
    expect(open.code, open.stderr).toBe(0);
    const profile = await fs.readFile(nodePath.join(homeB, 'profile.json'), 'utf8').catch(() => '');
    expect(profile).not.toContain(server.password);

    // Device A changes the passphrase.
    const r = await change(v);
    expect(r.code, r.stderr).toBe(0);

    // B with the new passphrase and no way to ask for the old one: refused (exit 3).
    const refused = await b(['ls'], { SHARDVAULT_PASSPHRASE: NEW });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/location credentials in this profile do not open/);
    // Given the old passphrase once, B opens and seals its credentials under the new one.
    const once = await b(['ls'], { SHARDVAULT_PASSPHRASE: NEW, SHARDVAULT_OLD_PASSPHRASE: OLD });
    expect(once.code, once.stderr).toBe(0);
    expect(once.stderr).toMatch(/credentials of 1 location on this device are now sealed under the new one/);
    // From now on the new passphrase alone reaches the WebDAV location: with loc1 unplugged,
    // the unlock needs its key share.
    const plug = await unplug(v.locations[0]!);
    const after = await b(['get', 'file.bin', '--output', nodePath.join(homeB, '..', 'out.bin')], {
      SHARDVAULT_PASSPHRASE: NEW,
    });
    await plug();
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).not.toMatch(/sealed under the new one/);
    expect(await sha256File(nodePath.join(homeB, '..', 'out.bin'))).toBe(v.sha);
    // The old passphrase no longer works on B either.
    expect((await b(['ls'])).code).toBe(3);
  });
});
