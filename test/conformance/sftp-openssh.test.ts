import { mkdir, rm } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfflineError, type ShardvaultError } from '../../src/core/errors';
import { KINDS } from '../../src/core/storage/kinds';
import { readObject } from '../../src/core/storage/node';
import { withRetry } from '../../src/core/storage/retry';
import { fetchHostFingerprint, SftpNode, type SftpOptions } from '../../src/core/storage/sftp/node';
import { mountTmpfs, requireBinary } from '../servers/process';
import { startSshd, type SshdServer } from '../servers/sshd';
import { runSftpCases, sftpOptions } from './sftp-suite';
import { equalBytes, pattern, runConformance } from './suite';

let server: SshdServer;
beforeAll(async () => {
  server = await startSshd();
});
afterAll(async () => {
  await server?.stop();
});

const options = (extra: Partial<SftpOptions> = {}): SftpOptions => sftpOptions(server, extra);

runConformance('SFTP (OpenSSH sshd)', () => Promise.resolve({ node: KINDS.sftp.compose(new SftpNode(options())) }));
runSftpCases(
  'SFTP (OpenSSH sshd)',
  () => server,
  (o) => new SftpNode(o),
);

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

  it('reads the host key fingerprint without logging in', async () => {
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
});
