/**
 * An SFTP location without `identity=` and without a password logs in as OpenSSH's client
 * does: with the ssh-agent at $SSH_AUTH_SOCK, else a default key in ~/.ssh; an encrypted key's
 * passphrase is asked when the location is given and sealed in the profile like a password.
 * Real sshd, a real ssh-agent started here, HOME pointed at a temp folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newVaultKdf } from '../src/core/crypto/kdf';
import { createNode, parseSpec } from '../src/core/storage/open';
import { configureEngine } from '../src/core/config';
import { Vault } from '../src/core/vault/vault';
import { requireBinary } from './servers/process';
import { makeKeyPair, startSshd, type SshdServer } from './servers/sshd';
import { TempRoot } from './helpers/cli';

let sshd: SshdServer;
let root: TempRoot;
let agent: ChildProcess | null = null;

beforeAll(async () => {
  [sshd, root] = await Promise.all([startSshd(), TempRoot.create('shardvault-sftp-login-')]);
});
afterAll(async () => {
  agent?.kill();
  await sshd?.stop();
  await root?.cleanup();
});

/** A location at the server's data folder, host key pinned, no key and no password. */
const spec = (): string =>
  `sftp://${sshd.user}@${sshd.host}:${sshd.port}${sshd.dataDir}?fingerprint=${sshd.fingerprint}`;

async function healthWith(env: NodeJS.ProcessEnv, keyPassphrase?: string) {
  const node = createNode(parseSpec(spec()), keyPassphrase ? { keyPassphrase } : null, { env });
  try {
    return await node.health();
  } finally {
    await node.close();
  }
}

/** A HOME whose ~/.ssh holds `key` (and its .pub) as id_ed25519. */
async function homeWith(name: string, key: string | null): Promise<string> {
  const home = await root.dir(name);
  await mkdir(nodePath.join(home, '.ssh'), { mode: 0o700 });
  if (key) {
    await copyFile(key, nodePath.join(home, '.ssh', 'id_ed25519'));
    await copyFile(`${key}.pub`, nodePath.join(home, '.ssh', 'id_ed25519.pub'));
  }
  return home;
}

describe('SFTP login without identity= or a password', () => {
  it('fails saying what it looked for when there is no agent and no default key', async () => {
    const h = await healthWith({ HOME: await homeWith('empty', null) });
    expect(h.reachable).toBe(false);
    expect(h.error).toMatch(/no ssh-agent \(\$SSH_AUTH_SOCK\) and no key in ~\/\.ssh \(id_ed25519, id_ecdsa, id_rsa\)/);
  });

  it('logs in with a key held by a real ssh-agent', { timeout: 30_000 }, async () => {
    const sock = nodePath.join(root.path, 'agent.sock');
    agent = spawn(requireBinary('ssh-agent', 'openssh-client'), ['-D', '-a', sock], { stdio: 'ignore' });
    for (let waited = 0; !(await readdir(root.path)).includes('agent.sock'); waited += 50) {
      if (waited > 10_000) throw new Error('ssh-agent made no socket');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const added = spawnSync(requireBinary('ssh-add', 'openssh-client'), [sshd.keyPath], {
      env: { ...process.env, SSH_AUTH_SOCK: sock },
      encoding: 'utf8',
    });
    expect(added.status, added.stderr).toBe(0);
    const home = await homeWith('agent-only', null);
    expect(await healthWith({ HOME: home, SSH_AUTH_SOCK: sock })).toMatchObject({ reachable: true });
    // The same HOME without the agent has nothing to log in with.
    expect((await healthWith({ HOME: home })).reachable).toBe(false);
  });

  it('logs in with ~/.ssh/id_ed25519', async () => {
    expect(await healthWith({ HOME: await homeWith('default-key', sshd.keyPath) })).toMatchObject({ reachable: true });
  });

  it('opens an encrypted default key with its passphrase, and says when none was given', async () => {
    const key = nodePath.join(root.path, 'locked_ed25519');
    makeKeyPair(key, 'key passphrase 42');
    sshd.authorize(`${key}.pub`);
    const home = await homeWith('locked-key', key);
    const without = await healthWith({ HOME: home });
    expect(without.reachable).toBe(false);
    expect(without.error).toMatch(/id_ed25519 is encrypted and no passphrase was given/);
    expect((await healthWith({ HOME: home }, 'wrong one')).error).toMatch(/the passphrase is wrong/);
    expect(await healthWith({ HOME: home }, 'key passphrase 42')).toMatchObject({ reachable: true });
  });

  it('asks the passphrase when the location is given and seals it in the profile', { timeout: 60_000 }, async () => {
    const key = nodePath.join(root.path, 'init_ed25519');
    makeKeyPair(key, 'init key passphrase');
    sshd.authorize(`${key}.pub`);
    const home = await homeWith('init-home', key);
    // The environment the front end hands the engine: this HOME, no ssh-agent.
    configureEngine({ env: { HOME: home } });
    try {
      const profile = await root.dir('profile');
      const asked: string[] = [];
      const folder = await root.dir('folder');
      await mkdir(nodePath.join(sshd.dataDir, 'v'));
      const { vault } = await Vault.create(profile, {
        locations: [`${folder}#f`, `${spec().replace('/data?', '/data/v?')}#srv`],
        policy: { data: 1, total: 2, threshold: 2, replicas: 1 },
        passphrase: 'vault passphrase for login test',
        kdf: newVaultKdf(10, { insecure: true }),
        askKeyPassphrase: (display, keyFile) => {
          asked.push(keyFile);
          return Promise.resolve('init key passphrase');
        },
      });
      await vault.close();
      expect(asked).toEqual([nodePath.join(home, '.ssh', 'id_ed25519')]);
      // Sealed, never in the clear.
      const files = await readdir(profile);
      for (const f of files)
        expect(await readFile(nodePath.join(profile, f), 'utf8')).not.toContain('init key passphrase');
      // A later command opens it with the vault passphrase and reaches the server.
      const again = await Vault.load(profile, {}, 'vault passphrase for login test');
      try {
        await again.unlock({ passphrase: 'vault passphrase for login test' });
        const srv = again.locations.find((l) => l.name === 'srv')!;
        expect(await srv.node.health()).toMatchObject({ reachable: true });
      } finally {
        await again.close();
      }
    } finally {
      configureEngine();
    }
  });
});
