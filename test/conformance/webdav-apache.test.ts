import { mkdir } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfflineError, type ShardvaultError } from '../../src/core/errors';
import { readObject } from '../../src/core/storage/node';
import { WebDavNode } from '../../src/core/storage/webdav/node';
import { startApache, type ApacheServer } from '../servers/apache';
import { mountTmpfs } from '../servers/process';
import {
  equalBytes,
  generate,
  getWhileServerDies,
  pattern,
  putWhileServerDies,
  runConformance,
  silentServer,
  toAsync,
} from './suite';
import { KINDS } from '../../src/core/storage/kinds';

let server: ApacheServer;
beforeAll(async () => {
  server = await startApache();
});
afterAll(async () => {
  await server?.stop();
});

runConformance('WebDAV (Apache mod_dav)', () =>
  Promise.resolve({
    node: KINDS.webdav.compose(new WebDavNode({ url: server.url, username: server.user, password: server.password })),
  }),
);

describe('WebDAV (Apache mod_dav): server specifics', () => {
  it('refuses a wrong password as a permission error', async () => {
    const node = new WebDavNode({ url: server.url, username: server.user, password: 'wrong' });
    const err = await node.stat('x').catch((e: unknown) => e);
    await node.close();
    expect((err as ShardvaultError).code).toBe('permission');
  });

  it('says "no-space" when the disk is full (507), and keeps the old object', async () => {
    const dir = nodePath.join(server.dataDir, 'full');
    await mkdir(dir);
    const unmount = mountTmpfs(dir, 1 << 20, 33); // Apache's workers run as www-data
    const node = new WebDavNode({ url: `${server.url}full/`, username: server.user, password: server.password });
    try {
      await node.put('small', pattern('small', 100_000));
      const err = await node.put('small', pattern('big', 2 << 20)).catch((e: unknown) => e);
      expect((err as ShardvaultError).code).toBe('no-space');
      expect((await node.stat('small'))?.size).toBe(100_000);
    } finally {
      await node.close();
      unmount();
    }
  });

  it('speaks Digest auth, streams through it, and refuses a wrong password', async () => {
    const digest = await startApache({ auth: 'digest' });
    const node = new WebDavNode({ url: digest.url, username: digest.user, password: digest.password });
    const wrong = new WebDavNode({ url: digest.url, username: digest.user, password: 'wrong' });
    try {
      const data = pattern('digest', 3 << 20);
      await node.put('a/b', data);
      await node.put('a/c', toAsync([data.subarray(0, 1 << 20), data.subarray(1 << 20)]));
      expect(equalBytes(await readObject(node, 'a/b', 4 << 20), data)).toBe(true);
      expect(equalBytes(await readObject(node, 'a/c', 4 << 20), data)).toBe(true);
      expect((await node.list('a')).map((e) => e.path).sort()).toEqual(['a/b', 'a/c']);
      const err = await wrong.stat('a/b').catch((e: unknown) => e);
      expect((err as ShardvaultError).code).toBe('permission');
    } finally {
      await node.close();
      await wrong.close();
      await digest.stop();
    }
  });

  it('speaks Digest under a realm outside ASCII (hashed as the UTF-8 bytes Apache sends)', async () => {
    const digest = await startApache({ auth: 'digest', realm: 'Tresor für Bob' });
    const node = new WebDavNode({ url: digest.url, username: digest.user, password: digest.password });
    try {
      const data = pattern('realm', 1000);
      await node.put('r', data);
      expect(equalBytes(await readObject(node, 'r', 1000), data)).toBe(true);
    } finally {
      await node.close();
      await digest.stop();
    }
  });

  it('is OfflineError, not a hang, when a server never answers', async () => {
    const silent = await silentServer();
    const node = new WebDavNode({ url: `http://127.0.0.1:${silent.port}/`, timeoutMs: 1000 });
    try {
      const started = Date.now();
      expect((await node.health()).reachable).toBe(false);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await node.close();
      await silent.stop();
    }
  });

  it('is OfflineError when the server dies mid-transfer', { timeout: 60_000 }, async () => {
    for (const direction of ['get', 'put'] as const) {
      const dying = await startApache();
      const node = new WebDavNode({ url: dying.url, username: dying.user, password: dying.password });
      try {
        await node.put('obj', generate('old', 48 << 20, 1 << 20));
        const err =
          direction === 'get'
            ? await getWhileServerDies(node, 'obj', () => dying.kill())
            : await putWhileServerDies(node, 'obj', () => dying.kill());
        expect(err, direction).toBeInstanceOf(OfflineError);
        expect((await node.health()).reachable).toBe(false);
      } finally {
        await node.close();
        await dying.stop();
      }
    }
  });
});
