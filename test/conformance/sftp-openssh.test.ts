import { mkdir, rm } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfflineError, ShardvaultError } from '../../src/core/errors';
import { readObject } from '../../src/core/storage/node';
import { withRetry } from '../../src/core/storage/retry';
import { fetchHostFingerprint, SftpNode, type SftpOptions } from '../../src/core/storage/sftp/node';
import { mountTmpfs, requireBinary } from '../servers/process';
import { makeKeyPair, startSshd, type SshdServer } from '../servers/sshd';
import {
  closedPort,
  digest,
  equalBytes,
  generate,
  getWhileServerDies,
  pattern,
  putWhileServerDies,
  runConformance,
  silentServer,
} from './suite';
import { KINDS } from '../../src/core/storage/kinds';

let server: SshdServer;
beforeAll(async () => {
  server = await startSshd();
});
afterAll(async () => {
  await server?.stop();
});

function options(extra: Partial<SftpOptions> = {}): SftpOptions {
  return {
    host: server.host,
    port: server.port,
    username: server.user,
    root: server.dataDir,
    privateKeyPath: server.keyPath,
    fingerprint: server.fingerprint,
    ...extra,
  };
}

runConformance('SFTP (OpenSSH sshd)', () => Promise.resolve({ node: KINDS.sftp.compose(new SftpNode(options())) }));

describe('SFTP (OpenSSH sshd): server specifics', () => {
  const nodes: SftpNode[] = [];
  const make = (extra: Partial<SftpOptions> = {}): SftpNode => {
    const node = new SftpNode(options(extra));
    nodes.push(node);
    return node;
  };
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('refuses a key the server does not accept, as a permission error', async () => {
    const stranger = nodePath.join(server.dir, 'stranger');
    makeKeyPair(stranger);
    const err = await make({ privateKeyPath: stranger })
      .stat('x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardvaultError);
    expect((err as ShardvaultError).code).toBe('permission');
    expect((err as Error).message).toMatch(/refused the credentials/);
  });

  it('uses a passphrase-protected key, and says so when the passphrase is wrong or missing', async () => {
    const locked = nodePath.join(server.dir, 'locked');
    makeKeyPair(locked, 'key passphrase');
    server.authorize(`${locked}.pub`);
    expect(await make({ privateKeyPath: locked, passphrase: 'key passphrase' }).stat('x')).toBeNull();
    for (const passphrase of ['wrong', null]) {
      const err = await make({ privateKeyPath: locked, passphrase })
        .stat('x')
        .catch((e: unknown) => e);
      expect((err as ShardvaultError).code).toBe('permission');
      expect((err as Error).message).toMatch(/encrypted/);
    }
  });

  it('refuses a changed host key, naming both fingerprints', async () => {
    const other = makeKeyPair(nodePath.join(server.dir, 'other_host'));
    const err = await make({ fingerprint: other })
      .stat('x')
      .catch((e: unknown) => e);
    expect((err as ShardvaultError).code).toBe('permission');
    expect((err as Error).message).toContain(other);
    expect((err as Error).message).toContain(server.fingerprint);
  });

  it('trusts a new host key only through the callback (trust on first use)', async () => {
    const asked: string[] = [];
    const tofu = make({
      fingerprint: null,
      onUnknownHostKey: (fp) => {
        asked.push(fp);
        return Promise.resolve(true);
      },
    });
    expect(await tofu.stat('x')).toBeNull();
    expect(asked).toEqual([server.fingerprint]);
    expect(tofu.hostFingerprint).toBe(server.fingerprint);

    const declined = await make({ fingerprint: null, onUnknownHostKey: () => Promise.resolve(false) })
      .stat('x')
      .catch((e: unknown) => e);
    expect((declined as ShardvaultError).code).toBe('permission');

    const unpinned = await make({ fingerprint: null })
      .stat('x')
      .catch((e: unknown) => e);
    expect((unpinned as ShardvaultError).code).toBe('permission');
    expect((unpinned as Error).message).toContain(server.fingerprint);
    expect(await fetchHostFingerprint(server.host, server.port)).toBe(server.fingerprint);
  });

  it('says so when the root folder is missing, and never creates it', async () => {
    const root = nodePath.join(server.dataDir, 'not-there');
    const node = make({ root });
    const err = await node.put('a', pattern('a', 1)).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(OfflineError);
    expect((err as ShardvaultError).code).toBe('io');
    expect((err as Error).message).toMatch(/does not exist/);
    expect((await node.health()).reachable).toBe(false);
    await expect(rm(root)).rejects.toThrow(/ENOENT/);
  });

  it('says "no-space" when the disk is full, and keeps the old object', async () => {
    const root = nodePath.join(server.dataDir, 'full');
    await mkdir(root);
    const unmount = mountTmpfs(root, 1 << 20);
    try {
      const node = make({ root });
      await node.put('small', pattern('small', 100_000));
      const err = await node.put('small', pattern('big', 2 << 20)).catch((e: unknown) => e);
      expect((err as ShardvaultError).code).toBe('no-space');
      expect((await node.stat('small'))?.size).toBe(100_000);
      expect((await node.health()).freeBytes).toBeLessThan(1 << 20);
    } finally {
      unmount();
    }
  });

  it('names the package to install when a server program is missing', () => {
    expect(() => requireBinary('shardvault-no-such-server', 'some-package')).toThrow(
      /Debian package 'some-package'.*bash scripts\/setup-system\.sh/,
    );
  });

  it('replaces objects without posix-rename too (plain rename refuses: delete, then rename)', async () => {
    const node = make({ posixRename: false });
    await node.put('plain/obj', pattern('one', 1000));
    await node.put('plain/obj', pattern('two', 2000));
    expect(equalBytes(await readObject(node, 'plain/obj', 10_000), pattern('two', 2000))).toBe(true);
    await node.put('plain/obj', pattern('three', 3000));
    expect((await node.stat('plain/obj'))?.size).toBe(3000);
    const versions = [0, 1, 2, 3].map((i) => pattern(`v${i}`, 50_000 + i));
    await Promise.all(versions.map((v) => node.put('plain/same', v)));
    const winner = await readObject(node, 'plain/same', 100_000);
    expect(versions.some((v) => equalBytes(v, winner))).toBe(true);
  });

  it('reports free space (statvfs@openssh.com)', async () => {
    const health = await make().health();
    expect(health.reachable).toBe(true);
    expect(health.freeBytes).toBeGreaterThan(0);
  });

  it('reconnects after its connection is dropped', async () => {
    const node = make();
    await node.put('reconnect/a', pattern('r', 1000));
    server.killSessions();
    const retried = withRetry(node, { attempts: 3, baseDelayMs: 50 });
    expect((await retried.stat('reconnect/a'))?.size).toBe(1000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await node.stat('reconnect/a'))?.size).toBe(1000);
  });

  it('is OfflineError when the server is unreachable, and health says so', async () => {
    const node = make({ port: await closedPort() });
    await expect(node.stat('x')).rejects.toBeInstanceOf(OfflineError);
    const health = await node.health();
    expect(health).toMatchObject({ reachable: false, latencyMs: null, freeBytes: null });
    expect(health.error).toMatch(/ECONNREFUSED/);
  });

  it('is OfflineError, not a hang, when a server never answers', async () => {
    const silent = await silentServer();
    try {
      const node = make({ port: silent.port, connectTimeoutMs: 1000 });
      const started = Date.now();
      await expect(node.stat('x')).rejects.toBeInstanceOf(OfflineError);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await silent.stop();
    }
  });

  it('is OfflineError when the server dies mid-transfer, and the old object stays', { timeout: 60_000 }, async () => {
    const dying = await startSshd();
    const node = new SftpNode({
      host: dying.host,
      port: dying.port,
      username: dying.user,
      root: dying.dataDir,
      privateKeyPath: dying.keyPath,
      fingerprint: dying.fingerprint,
    });
    try {
      await node.put('obj', generate('old', 48 << 20, 1 << 20));
      const getError = await getWhileServerDies(node, 'obj', () => Promise.resolve(dying.killSessions()));
      expect(getError).toBeInstanceOf(OfflineError);
      const putError = await putWhileServerDies(node, 'obj', () => Promise.resolve(dying.killSessions()));
      expect(putError).toBeInstanceOf(OfflineError);
      expect(await digest(await node.get('obj'))).toBe(await digest(generate('old', 48 << 20, 1 << 20)));
      await dying.kill();
      await expect(node.stat('obj')).rejects.toBeInstanceOf(OfflineError);
    } finally {
      await node.close();
      await dying.stop();
    }
  });
});
