import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfflineError, type ShardvaultError } from '../../src/core/errors';
import { readObject } from '../../src/core/storage/node';
import { SftpNode, type SftpOptions } from '../../src/core/storage/sftp/node';
import { startRclone, type RcloneServer } from '../servers/rclone';
import { equalBytes, generate, getWhileServerDies, pattern, putWhileServerDies, runConformance } from './suite';
import { KINDS } from '../../src/core/storage/kinds';

let server: RcloneServer;
beforeAll(async () => {
  server = await startRclone('sftp');
});
afterAll(async () => {
  await server?.stop();
});

function options(on: RcloneServer, extra: Partial<SftpOptions> = {}): SftpOptions {
  return {
    host: on.host,
    port: on.port,
    username: on.user,
    password: on.password,
    root: on.root,
    fingerprint: on.fingerprint,
    ...extra,
  };
}

runConformance('SFTP (rclone serve sftp)', () =>
  Promise.resolve({ node: KINDS.sftp.compose(new SftpNode(options(server))) }),
);

describe('SFTP (rclone serve sftp): server specifics', () => {
  it('refuses a wrong password as a permission error', async () => {
    const node = new SftpNode(options(server, { password: 'wrong' }));
    const err = await node.stat('x').catch((e: unknown) => e);
    await node.close();
    expect((err as ShardvaultError).code).toBe('permission');
  });

  it('replaces objects without posix-rename too (rclone: a plain rename replaces)', async () => {
    const node = new SftpNode(options(server, { posixRename: false }));
    try {
      await node.put('plain/obj', pattern('one', 1000));
      await node.put('plain/obj', pattern('two', 2000));
      expect(equalBytes(await readObject(node, 'plain/obj', 10_000), pattern('two', 2000))).toBe(true);
    } finally {
      await node.close();
    }
  });

  it('is OfflineError when the server dies mid-transfer, and the old object stays', { timeout: 60_000 }, async () => {
    const dying = await startRclone('sftp');
    const node = new SftpNode(options(dying));
    try {
      await node.put('obj', generate('old', 48 << 20, 1 << 20));
      expect(await getWhileServerDies(node, 'obj', () => dying.kill())).toBeInstanceOf(OfflineError);
      await expect(node.stat('obj')).rejects.toBeInstanceOf(OfflineError);
      expect((await node.health()).reachable).toBe(false);
    } finally {
      await node.close();
      await dying.stop();
    }
    const again = await startRclone('sftp');
    const node2 = new SftpNode(options(again));
    try {
      await node2.put('obj', generate('old', 16 << 20, 1 << 20));
      expect(await putWhileServerDies(node2, 'obj', () => again.kill())).toBeInstanceOf(OfflineError);
    } finally {
      await node2.close();
      await again.stop();
    }
  });
});
