/**
 * `init` makes the last folder of a location that is not there yet (issue 10, item 6): on an
 * SFTP server (OpenSSH) and a WebDAV server (rclone) at once, on this machine after asking
 * (a terminal, or --create for scripts). Never a missing parent (a disk that is not mounted),
 * never through a symbolic link. The built CLI over real folders and servers.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRclone, type RcloneServer } from './servers/rclone';
import { startSshd, type SshdServer } from './servers/sshd';
import {
  BIN,
  childEnv,
  ensureBuilt,
  exists,
  listTree,
  parseJson,
  runCli,
  TempRoot,
  type CliResult,
} from './helpers/cli';

const PASS = 'init create passphrase';
const POLICY = ['--survive', '1', '--secret-against', '1', '--insecure-kdf-cost', '10'];
let root: TempRoot;

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-init-create-');
});

afterAll(async () => {
  await root?.cleanup();
});

async function init(name: string, specs: readonly string[], extra: readonly string[] = []): Promise<CliResult> {
  const home = await root.dir(`${name}/home`);
  return runCli(['init', ...specs.flatMap((s) => ['--location', s]), ...POLICY, ...extra], {
    env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS },
  });
}

/** Two folders that exist, and the path of a third whose parent exists but it does not. */
async function folders(name: string): Promise<{ present: string[]; missing: string }> {
  const present = await root.locations(name, 2);
  const parent = await root.dir(`${name}/usb`);
  return { present, missing: nodePath.join(parent, 'vault') };
}

describe.concurrent('init on a folder of this machine that is not there', () => {
  it('without a terminal and without --create: refused, naming --create, nothing made', async () => {
    const { present, missing } = await folders('script');
    const r = await init('script', [...present, missing]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`the folder ${missing} does not exist: give --create to make it`);
    expect(await exists(missing)).toBe(false);
    for (const p of present) expect(await listTree(p)).toEqual([]);
  });

  it('--create makes the last folder (mode 0700) and the vault', async () => {
    const { present, missing } = await folders('create');
    const r = await init('create', [...present, missing], ['--create', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson<{ madeFolders: string[] }>(r).madeFolders).toEqual([missing]);
    const st = await fs.lstat(missing);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    expect(await listTree(missing)).toContain('shardvault.json');
  });

  it('on a terminal asks "Create the folder …? [y/N]": yes makes it, no refuses', async () => {
    const ask = async (
      name: string,
      answer: string,
    ): Promise<{ out: string; code: number | null; missing: string }> => {
      const { present, missing } = await folders(name);
      const home = await root.dir(`${name}/home`);
      const argv = [BIN, 'init', ...[...present, missing].flatMap((s) => ['--location', s]), ...POLICY];
      // script(1) gives the CLI a terminal; the answer comes in on it.
      const command = [process.execPath, ...argv].map((a) => `'${a}'`).join(' ');
      const r = spawnSync('script', ['-qec', command, '/dev/null'], {
        input: `${answer}\n`,
        env: childEnv({ SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS }),
        encoding: 'utf8',
        timeout: 60_000,
      });
      return { out: r.stdout, code: r.status, missing };
    };
    const yes = await ask('tty-yes', 'y');
    expect(yes.out).toContain(`Create the folder ${yes.missing}? [y/N]`);
    expect(yes.code, yes.out).toBe(0);
    expect(await listTree(yes.missing)).toContain('shardvault.json');
    const no = await ask('tty-no', 'n');
    expect(no.out).toContain(`Create the folder ${no.missing}? [y/N]`);
    expect(no.code, no.out).toBe(2);
    expect(no.out).toContain(`${no.missing} does not exist (not created)`);
    expect(await exists(no.missing)).toBe(false);
  });

  it('never makes a missing parent: "does not exist: is the disk mounted?"', async () => {
    const present = await root.locations('parent', 2);
    const mountPoint = nodePath.join(root.path, 'parent', 'media', 'usb');
    const r = await init('parent', [...present, nodePath.join(mountPoint, 'vault')], ['--create']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${mountPoint} does not exist: is the disk mounted?`);
    expect(await exists(nodePath.dirname(mountPoint))).toBe(false);
  });

  it('never makes a folder through a symbolic link: a linked parent, a dangling link', async () => {
    const present = await root.locations('links', 2);
    const elsewhere = await root.dir('links/elsewhere');
    const link = nodePath.join(root.path, 'links', 'usb');
    await fs.symlink(elsewhere, link);
    const r = await init('links', [...present, nodePath.join(link, 'vault')], ['--create']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${link} is a symbolic link: vault is not made through it`);
    expect(await fs.readdir(elsewhere)).toEqual([]);

    const dangling = nodePath.join(root.path, 'links', 'dangling');
    await fs.symlink(nodePath.join(elsewhere, 'nothing'), dangling);
    const d = await init('links2', [...present, dangling], ['--create']);
    expect(d.code, d.stderr).toBe(1);
    expect(d.stderr).toContain(`${dangling} is a symbolic link to nothing: not followed`);
    expect(await fs.readdir(elsewhere)).toEqual([]);
  });
});

describe('init on a server folder that is not there', () => {
  let sshd: SshdServer;
  let dav: RcloneServer;
  beforeAll(async () => {
    [sshd, dav] = await Promise.all([startSshd(), startRclone('webdav')]);
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled([sshd?.stop(), dav?.stop()]);
  });

  const sftp = (path: string): string =>
    `sftp://${sshd.user}@${sshd.host}:${sshd.port}${path}?identity=${sshd.keyPath}&fingerprint=${sshd.fingerprint}`;
  const webdav = (path: string): string => {
    const u = new URL(path, dav.url);
    return `webdav+http://${encodeURIComponent(dav.user)}:${encodeURIComponent(dav.password)}@${u.host}${u.pathname}`;
  };

  it('makes the last folder on OpenSSH (mkdir) and on rclone WebDAV (MKCOL) without asking', async () => {
    const [local] = await root.locations('servers', 1);
    const sftpRoot = nodePath.join(sshd.dataDir, 'vault');
    const r = await init('servers', [local!, sftp(sftpRoot), webdav('vault/')], ['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson<{ madeFolders: string[] }>(r).madeFolders).toHaveLength(2);
    expect(await listTree(sftpRoot)).toContain('shardvault.json');
    expect(await listTree(nodePath.join(dav.dataDir, 'vault'))).toContain('shardvault.json');
  }, 60_000);

  it('never makes a missing parent on a server', async () => {
    const local = await root.locations('servers-parent', 2);
    const s = await init('servers-parent-sftp', [...local, sftp(nodePath.join(sshd.dataDir, 'absent', 'vault'))]);
    expect(s.code, s.stderr).toBe(1);
    expect(s.stderr).toMatch(/absent does not exist on the server: is the disk mounted\?/);
    expect(await exists(nodePath.join(sshd.dataDir, 'absent'))).toBe(false);
    const w = await init('servers-parent-dav', [...local, webdav('absent/vault/')]);
    expect(w.code, w.stderr).toBe(1);
    expect(w.stderr).toMatch(/absent\/ does not exist on the server: is the disk mounted\?/);
    expect(await exists(nodePath.join(dav.dataDir, 'absent'))).toBe(false);
  }, 60_000);
});

// Two addresses that reach one folder (a link, a second mount of the same disk) would hold
// each other's key share and overwrite it: init refuses them and leaves both folders empty.
describe('init over two addresses of the same folder', () => {
  it('refuses, naming both locations, and leaves nothing behind', async () => {
    const [a, c] = await root.locations('alias', 2);
    const b = nodePath.join(nodePath.dirname(a!), 'link-to-a');
    await fs.symlink(a!, b);
    const r = await init('alias', [a!, b, c!]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`loc1 (${a}) and loc2 (${b}) are the same storage`);
    expect(await listTree(a!)).toEqual([]);
    expect(await listTree(c!)).toEqual([]);
    const home = nodePath.join(root.path, 'alias/home');
    expect(await exists(nodePath.join(home, 'profile.json'))).toBe(false);
  }, 60_000);
});
