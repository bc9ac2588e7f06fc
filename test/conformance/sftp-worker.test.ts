// An SFTP location on a worker thread of its own (src/core/storage/sftp/worker-node.ts), as
// the built CLI and app open one: the conformance suite and the SFTP cases the node on this
// thread runs too (sftp-suite.ts: logging in, host keys, failing servers) through the bundled
// worker (out/cli/sftp-worker.mjs) against OpenSSH; then what only a worker has: what
// crosses the thread boundary (errors as the same classes with the same fields, createRoot's
// confirm, a failing source), what happens when the worker dies, and whether the process ends.
import { spawn } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, OfflineError, UsageError } from '../../src/core/errors';
import { KINDS } from '../../src/core/storage/kinds';
import { readObject } from '../../src/core/storage/node';
import type { SftpOptions } from '../../src/core/storage/sftp/options';
import { SftpWorkerNode } from '../../src/core/storage/sftp/worker-node';
import { ensureBuilt, ROOT, TempRoot } from '../helpers/cli';
import { startSshd, type SshdServer } from '../servers/sshd';
import { runSftpCases, sftpOptions } from './sftp-suite';
import { equalBytes, generate, getWhileServerDies, pattern, runConformance } from './suite';

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

const options = (extra: Partial<SftpOptions> = {}): SftpOptions => sftpOptions(server, extra);

runConformance('SFTP on a worker thread (OpenSSH sshd)', () =>
  Promise.resolve({ node: KINDS.sftp.compose(new SftpWorkerNode(options(), WORKER)) }),
);
runSftpCases(
  'SFTP on a worker thread (OpenSSH sshd)',
  () => server,
  (o) => new SftpWorkerNode(o, WORKER),
);

describe('SFTP on a worker thread: across the thread boundary', () => {
  const nodes: SftpWorkerNode[] = [];
  const make = (extra: Partial<SftpOptions> = {}, worker = WORKER): SftpWorkerNode => {
    const node = new SftpWorkerNode(options(extra), worker);
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
