// rclone serve sftp with its default flags (no --vfs-cache-mode writes): a file being written
// can't seek, so writes that arrive out of order are refused ("Illegal seek", FIELD-NOTES).
// The node notices and writes in order; the suite's 64 MiB object checks it takes large ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SftpNode, type SftpOptions } from '../../src/core/storage/sftp/node';
import { startRclone, type RcloneServer } from '../servers/rclone';
import { digest, digestCounting, generate, runConformance } from './suite';
import { KINDS } from '../../src/core/storage/kinds';

let server: RcloneServer;
beforeAll(async () => {
  server = await startRclone('sftp', { cacheWrites: false });
});
afterAll(async () => {
  await server?.stop();
});

function options(on: RcloneServer): SftpOptions {
  return {
    host: on.host,
    port: on.port,
    username: on.user,
    password: on.password,
    root: on.root,
    fingerprint: on.fingerprint,
  };
}

runConformance(
  'SFTP (rclone serve sftp, default flags)',
  () => Promise.resolve({ node: KINDS.sftp.compose(new SftpNode(options(server))) }),
  {
    replaceMayInterruptReaders: true,
  },
);

describe('SFTP (rclone serve sftp, default flags): a server that cannot seek', () => {
  it('takes an 8 MiB object from a fresh node, several at once, byte for byte', { timeout: 60_000 }, async () => {
    // A fresh node writes pipelined: the server refuses some writes, and the node must
    // recover without losing a byte, in every put in flight at once.
    const node = new SftpNode(options(server));
    try {
      const size = 8 << 20;
      const names = ['a', 'b', 'c'].map((n) => `seek/${n}`);
      expect(await Promise.all(names.map((p) => node.put(p, generate(p, size, 1 << 20))))).toEqual(
        names.map(() => size),
      );
      for (const p of names) {
        const got = await digestCounting(await node.get(p));
        expect(got.size).toBe(size);
        expect(got.hash).toBe(await digest(generate(p, size, 1 << 20)));
      }
    } finally {
      await node.close();
    }
  });
});
