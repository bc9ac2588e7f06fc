/**
 * The SFTP cases both implementations run against OpenSSH: the node on this thread
 * (sftp-openssh.test.ts) and the one on a worker thread (sftp-worker.test.ts). Logging in
 * (a key refused, a passphrase), the host key (changed, trusted on first use, declined), a
 * server that refuses, never answers or dies mid-transfer: what the caller sees must not
 * depend on which thread holds the connection. Each file starts its server and keeps the
 * cases only its implementation has.
 */
import * as nodePath from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OfflineError, ShardvaultError } from '../../src/core/errors';
import type { StorageNode } from '../../src/core/storage/node';
import type { SftpOptions } from '../../src/core/storage/sftp/options';
import { makeKeyPair, startSshd, type SshdServer } from '../servers/sshd';
import { closedPort, digest, generate, getWhileServerDies, putWhileServerDies, silentServer } from './suite';

/** An SFTP node of either implementation. */
export type SftpUnderTest = StorageNode & { readonly hostFingerprint: string | null };

/** Options for a node logging in to `on` with its key, its host key pinned; `extra` overrides. */
export function sftpOptions(on: SshdServer, extra: Partial<SftpOptions> = {}): SftpOptions {
  return {
    host: on.host,
    port: on.port,
    username: on.user,
    root: on.dataDir,
    privateKeyPath: on.keyPath,
    fingerprint: on.fingerprint,
    ...extra,
  };
}

/**
 * The shared cases, as describe `${name}: logging in, host keys, failing servers`. `server`
 * is the file's running sshd (started in its beforeAll); `open` makes a node of the
 * implementation under test. The suite closes what it opens.
 */
export function runSftpCases(name: string, server: () => SshdServer, open: (o: SftpOptions) => SftpUnderTest): void {
  describe(`${name}: logging in, host keys, failing servers`, () => {
    const nodes: SftpUnderTest[] = [];
    const make = (extra: Partial<SftpOptions> = {}): SftpUnderTest => {
      const node = open(sftpOptions(server(), extra));
      nodes.push(node);
      return node;
    };
    afterAll(async () => {
      await Promise.all(nodes.map((n) => n.close()));
    });

    it('refuses a key the server does not accept, as a permission error', async () => {
      const stranger = nodePath.join(server().dir, 'stranger');
      makeKeyPair(stranger);
      const err = await make({ privateKeyPath: stranger })
        .stat('x')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShardvaultError);
      expect((err as ShardvaultError).code).toBe('permission');
      expect((err as Error).message).toMatch(/refused the credentials/);
    });

    it('uses a passphrase-protected key, and says so when the passphrase is wrong or missing', async () => {
      const locked = nodePath.join(server().dir, 'locked');
      makeKeyPair(locked, 'key passphrase');
      server().authorize(`${locked}.pub`);
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
      const other = makeKeyPair(nodePath.join(server().dir, 'other_host'));
      const err = await make({ fingerprint: other })
        .stat('x')
        .catch((e: unknown) => e);
      expect((err as ShardvaultError).code).toBe('permission');
      expect((err as Error).message).toContain(other);
      expect((err as Error).message).toContain(server().fingerprint);
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
      expect(tofu.hostFingerprint).toBeNull();
      expect(await tofu.stat('x')).toBeNull();
      expect(asked).toEqual([server().fingerprint]);
      expect(tofu.hostFingerprint).toBe(server().fingerprint);

      const declined = await make({ fingerprint: null, onUnknownHostKey: () => Promise.resolve(false) })
        .stat('x')
        .catch((e: unknown) => e);
      expect((declined as ShardvaultError).code).toBe('permission');

      const unpinned = await make({ fingerprint: null })
        .stat('x')
        .catch((e: unknown) => e);
      expect((unpinned as ShardvaultError).code).toBe('permission');
      expect((unpinned as Error).message).toContain(server().fingerprint);
    });

    it('is OfflineError when the server is unreachable, and health says so', async () => {
      const node = make({ port: await closedPort() });
      await expect(node.stat('x')).rejects.toBeInstanceOf(OfflineError);
      const health = await node.health();
      expect(health).toMatchObject({ reachable: false, latencyMs: null, freeBytes: null });
      expect(health.error).toMatch(/ECONNREFUSED/);
    });

    it('is OfflineError, unresponsive and not a hang, when a server never answers', async () => {
      const silent = await silentServer();
      try {
        const node = make({ port: silent.port, connectTimeoutMs: 1000 });
        const started = Date.now();
        const err = await node.stat('x').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OfflineError);
        expect((err as OfflineError).unresponsive).toBe(true);
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await silent.stop();
      }
    });

    it('is OfflineError when the server dies mid-transfer, and the old object stays', { timeout: 60_000 }, async () => {
      const dying = await startSshd();
      const node = open(sftpOptions(dying));
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
}
