import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfflineError, type ShardvaultError } from '../../src/core/errors';
import { WebDavNode } from '../../src/core/storage/webdav/node';
import { startRclone, type RcloneServer } from '../servers/rclone';
import {
  closedPort,
  generate,
  getWhileServerDies,
  pattern,
  putWhileServerDies,
  runConformance,
  silentServer,
} from './suite';
import { KINDS } from '../../src/core/storage/kinds';

let server: RcloneServer;
beforeAll(async () => {
  server = await startRclone('webdav');
});
afterAll(async () => {
  await server?.stop();
});

runConformance('WebDAV (rclone serve webdav)', () =>
  Promise.resolve({
    node: KINDS.webdav.compose(new WebDavNode({ url: server.url, username: server.user, password: server.password })),
  }),
);

describe('WebDAV (rclone serve webdav): server specifics', () => {
  it('refuses a wrong password, or none, as a permission error', async () => {
    for (const password of ['wrong', null]) {
      const node = new WebDavNode({ url: server.url, username: server.user, password });
      const err = await node.stat('x').catch((e: unknown) => e);
      await node.close();
      expect((err as ShardvaultError).code).toBe('permission');
    }
    const anonymous = new WebDavNode({ url: server.url });
    expect(((await anonymous.list('').catch((e: unknown) => e)) as ShardvaultError).code).toBe('permission');
    await anonymous.close();
  });

  it('says so when the root collection is missing, and never creates it', async () => {
    const node = new WebDavNode({ url: `${server.url}not-there/`, username: server.user, password: server.password });
    const err = await node.put('a', pattern('a', 1)).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(OfflineError);
    expect((err as Error).message).toMatch(/does not exist/);
    expect((await node.health()).reachable).toBe(false);
    await node.close();
  });

  it('is OfflineError when the server is unreachable, and health says so', async () => {
    const node = new WebDavNode({ url: `http://127.0.0.1:${await closedPort()}/`, username: 'u', password: 'p' });
    await expect(node.stat('x')).rejects.toBeInstanceOf(OfflineError);
    expect(await node.health()).toMatchObject({ reachable: false, latencyMs: null, freeBytes: null });
    await node.close();
  });

  it('is OfflineError, not a hang, when a server never answers', async () => {
    const silent = await silentServer();
    const node = new WebDavNode({
      url: `http://127.0.0.1:${silent.port}/`,
      username: 'u',
      password: 'p',
      timeoutMs: 1000,
    });
    try {
      const started = Date.now();
      await expect(node.stat('x')).rejects.toBeInstanceOf(OfflineError);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await node.close();
      await silent.stop();
    }
  });

  it('speaks https, trusting a pinned self-signed certificate and nothing else', async () => {
    const tls = await startRclone('webdav', { tls: true });
    const pinned = new WebDavNode({ url: tls.url, username: tls.user, password: tls.password, caFile: tls.certPath });
    const unpinned = new WebDavNode({ url: tls.url, username: tls.user, password: tls.password });
    try {
      await pinned.put('a', pattern('tls', 100_000));
      expect(await pinned.stat('a')).toMatchObject({ path: 'a', size: 100_000 });
      expect(pinned.display).toMatch(/^webdav\+https:\/\//);
      const err = await unpinned.stat('a').catch((e: unknown) => e);
      expect((err as ShardvaultError).code).toBe('permission');
      expect((err as Error).message).toMatch(/certificate/);
    } finally {
      await pinned.close();
      await unpinned.close();
      await tls.stop();
    }
  });

  it('is OfflineError when the server dies mid-transfer', { timeout: 60_000 }, async () => {
    for (const direction of ['get', 'put'] as const) {
      const dying = await startRclone('webdav');
      const node = new WebDavNode({ url: dying.url, username: dying.user, password: dying.password });
      try {
        await node.put('obj', generate('old', 48 << 20, 1 << 20));
        const err =
          direction === 'get'
            ? await getWhileServerDies(node, 'obj', () => dying.kill())
            : await putWhileServerDies(node, 'obj', () => dying.kill());
        expect(err, direction).toBeInstanceOf(OfflineError);
        await expect(node.stat('obj')).rejects.toBeInstanceOf(OfflineError);
      } finally {
        await node.close();
        await dying.stop();
      }
    }
  });
});
