// An SFTP location on a worker thread of its own (src/core/storage/sftp/worker-node.ts), as
// the built CLI and app open one: the conformance suite through the bundled worker
// (out/cli/sftp-worker.mjs) against OpenSSH, then what crosses the thread boundary (errors
// as the same classes with the same fields, the host key question, createRoot's confirm),
// and what happens when the server or the worker dies, and whether the process then ends.
import { spawn } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, OfflineError, ShardvaultError, UsageError } from '../../src/core/errors';
import { KINDS } from '../../src/core/storage/kinds';
import { readObject } from '../../src/core/storage/node';
import type { SftpOptions } from '../../src/core/storage/sftp/options';
import { SftpWorkerNode } from '../../src/core/storage/sftp/worker-node';
import { ensureBuilt, ROOT, TempRoot } from '../helpers/cli';
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

const WORKER = nodePath.join(ROOT, 'out', 'cli', 'sftp-worker.mjs');
const DYING = nodePath.join(ROOT, 'test', 'fixtures', 'sftp-worker', 'dying.mjs');
const DYING_GET = nodePath.join(ROOT, 'test', 'fixtures', 'sftp-worker', 'dying-get.mjs');

let server: SshdServer;
beforeAll(async () => {
  ensureBuilt();
  server = await startSshd();
});
afterAll(async () => {
  await server?.stop();
});

function options(extra: Partial<SftpOptions> = {}, on: SshdServer = server): SftpOptions {
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

runConformance('SFTP on a worker thread (OpenSSH sshd)', () =>
  Promise.resolve({ node: KINDS.sftp.compose(new SftpWorkerNode(options(), WORKER)) }),
);

describe('SFTP on a worker thread: across the thread boundary', () => {
  const nodes: SftpWorkerNode[] = [];
  const make = (extra: Partial<SftpOptions> = {}, worker = WORKER, on: SshdServer = server): SftpWorkerNode => {
    const node = new SftpWorkerNode(options(extra, on), worker);
    nodes.push(node);
    return node;
  };
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('refuses bad options on this thread, as node.ts does', () => {
    expect(() => make({ root: 'relative' })).toThrow(RangeError);
    expect(() => make({ fingerprint: 'MD5:xx' })).toThrow(RangeError);
  });

  it('gives the engine errors back as their classes, with their codes and fields', async () => {
    const node = make();
    const missing = await node.get('nothing-here').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).code).toBe('not-found');
    expect((missing as Error).message).toContain(node.display);
    await expect(node.readRange('nothing-here', 0, 10)).rejects.toBeInstanceOf(NotFoundError);
    await expect(node.stat('../up')).rejects.toBeInstanceOf(RangeError);
    const stranger = nodePath.join(server.dir, 'stranger-w');
    makeKeyPair(stranger);
    const refused = await make({ privateKeyPath: stranger })
      .stat('x')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ShardvaultError);
    expect((refused as ShardvaultError).code).toBe('permission');
    expect((refused as Error).message).toMatch(/refused the credentials/);
    const locked = nodePath.join(server.dir, 'locked-w');
    makeKeyPair(locked, 'key passphrase');
    server.authorize(`${locked}.pub`);
    expect(await make({ privateKeyPath: locked, passphrase: 'key passphrase' }).stat('x')).toBeNull();
    const wrong = await make({ privateKeyPath: locked, passphrase: 'wrong' })
      .stat('x')
      .catch((e: unknown) => e);
    expect((wrong as ShardvaultError).code).toBe('permission');
    expect((wrong as Error).message).toMatch(/encrypted/);
  });

  it('refuses a changed host key, and asks this thread about an unknown one', async () => {
    const other = makeKeyPair(nodePath.join(server.dir, 'other_host_w'));
    const changed = await make({ fingerprint: other })
      .stat('x')
      .catch((e: unknown) => e);
    expect((changed as ShardvaultError).code).toBe('permission');
    expect((changed as Error).message).toContain(other);
    expect((changed as Error).message).toContain(server.fingerprint);

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
  });

  it("asks createRoot's confirm on this thread; a no is a UsageError and nothing is made", async () => {
    const root = nodePath.join(server.dataDir, 'made-by-worker');
    const no = await make({ root })
      .createRoot(() => Promise.resolve(false))
      .catch((e: unknown) => e);
    expect(no).toBeInstanceOf(UsageError);
    await expect(stat(root)).rejects.toThrow(/ENOENT/);
    let asked = 0;
    expect(
      await make({ root }).createRoot(() => {
        asked++;
        return Promise.resolve(true);
      }),
    ).toBe('created');
    expect(asked).toBe(1);
    expect((await stat(root)).isDirectory()).toBe(true);
  });

  it('is OfflineError for a closed port, and unresponsive for a silent server', async () => {
    const refused = make({ port: await closedPort() });
    await expect(refused.stat('x')).rejects.toBeInstanceOf(OfflineError);
    expect((await refused.health()).error).toMatch(/ECONNREFUSED/);
    const silent = await silentServer();
    try {
      const err = await make({ port: silent.port, connectTimeoutMs: 1000 })
        .stat('x')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OfflineError);
      expect((err as OfflineError).unresponsive).toBe(true);
    } finally {
      await silent.stop();
    }
  });

  it('rethrows a failing source as it was, and leaves the old object', async () => {
    const node = make();
    await node.put('src/obj', pattern('old', 3 << 20));
    const mine = new Error('my source broke');
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield pattern('new', 2 << 20);
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw mine;
    }
    await expect(node.put('src/obj', broken())).rejects.toBe(mine);
    expect(equalBytes(await readObject(node, 'src/obj', 4 << 20), pattern('old', 3 << 20))).toBe(true);
  });

  it('is OfflineError when the server dies mid-transfer, and the old object stays', { timeout: 60_000 }, async () => {
    const dying = await startSshd();
    const node = new SftpWorkerNode(options({}, dying), WORKER);
    try {
      await node.put('obj', generate('old', 48 << 20, 1 << 20));
      expect(await getWhileServerDies(node, 'obj', () => Promise.resolve(dying.killSessions()))).toBeInstanceOf(
        OfflineError,
      );
      expect(await putWhileServerDies(node, 'obj', () => Promise.resolve(dying.killSessions()))).toBeInstanceOf(
        OfflineError,
      );
      expect(await digest(await node.get('obj'))).toBe(await digest(generate('old', 48 << 20, 1 << 20)));
      await dying.kill();
      await expect(node.stat('obj')).rejects.toBeInstanceOf(OfflineError);
    } finally {
      await node.close();
      await dying.stop();
    }
  });

  it('is OfflineError when its worker dies mid-put, and the next call has a new worker', async () => {
    const node = make({}, DYING);
    const err = await node.put('dies/obj', generate('x', 16 << 20, 1 << 20)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfflineError);
    expect((err as Error).message).toMatch(/worker thread stopped \(exit 70\)/);
    // A small put sends no fifth chunk: the new worker carries it through.
    expect(await node.put('dies/small', pattern('s', 1000))).toBe(1000);
    expect(equalBytes(await readObject(node, 'dies/small', 10_000), pattern('s', 1000))).toBe(true);
  });

  it('is OfflineError when its worker dies mid-get, not a hang', async () => {
    const node = make({}, DYING_GET);
    await node.put('dies/read', generate('r', 16 << 20, 1 << 20));
    const err = await getWhileServerDies(node, 'dies/read', () => Promise.resolve()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfflineError);
    expect((err as Error).message).toMatch(/worker thread stopped \(exit 71\)/);
    expect((await node.stat('dies/read'))?.size).toBe(16 << 20);
  });

  it('fails calls after close as node.ts does, and health says so', async () => {
    const node = make();
    expect(await node.stat('x')).toBeNull();
    await node.close();
    await expect(node.stat('x')).rejects.toThrow(/location is closed/);
    expect((await node.health()).reachable).toBe(false);
  });
});

describe('SFTP on a worker thread: the process ends', () => {
  let root: TempRoot;
  let child: string;
  beforeAll(async () => {
    root = await TempRoot.create('shardvault-sftp-worker-');
    child = nodePath.join(root.path, 'child.mjs');
    await build({
      entryPoints: [nodePath.join(ROOT, 'test', 'fixtures', 'sftp-worker', 'child.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: child,
      logLevel: 'silent',
    });
    await mkdir(nodePath.join(server.dataDir, 'child'), { recursive: true });
  });
  afterAll(async () => {
    await root?.cleanup();
    await rm(nodePath.join(server.dataDir, 'child'), { recursive: true, force: true });
  });

  /** Runs the child; its output and exit code once it ends (the test's timeout is the hang). */
  const runChild = (env: Record<string, string>): Promise<{ out: string; code: number | null }> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [child], {
        env: { PATH: process.env['PATH'], SFTP_OPTIONS: JSON.stringify(options()), ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      p.on('close', (code) => resolve({ out, code }));
    });

  it('ends after a put, with the location closed or not', async () => {
    for (const close of ['1', '']) {
      const { out, code } = await runChild({ SFTP_WORKER: WORKER, SIZE: String(3 << 20), CLOSE: close });
      expect(JSON.parse(out)).toEqual({ stored: 3 << 20 });
      expect(code).toBe(0);
    }
  });

  it('ends with an OfflineError when the worker dies mid-put', async () => {
    const { out, code } = await runChild({ SFTP_WORKER: DYING, SIZE: String(16 << 20), CLOSE: '1' });
    expect(JSON.parse(out)).toEqual({ error: 'OfflineError', code: 'offline' });
    expect(code).toBe(0);
  });
});
