// The engine host (src/host): the engine in a real Node child process (the built
// out/cli/engine-host.mjs, as `shardvault serve` forks it), the front relaying calls by
// name, typed errors, progress events, putStream's bytes with flow control, and the front's
// credential store answering the engine's requests.
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../src/core/app';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { connectEngine, type EngineProcess, forkEngine, type HostLink } from '../src/host/engine-client';
import { FrameReader, frameHeader, type FromHost } from '../src/host/messages';
import type { ProgressEvent } from '../src/shared/api';
import { BridgeFailure, toBridgeError } from '../src/shared/ipc';
import { ensureBuilt, ROOT, runCli } from './helpers/cli';
import { folderInput } from './helpers/location-input';

const HOST = join(ROOT, 'out', 'cli', 'engine-host.mjs');
const PASSPHRASE = 'correct horse battery staple, relayed';

/** Whether a process of this id is running. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function* chunks(data: Uint8Array, size: number, failAfter = Infinity): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) {
    if (at >= failAfter) throw new Error('the sender went away');
    yield data.subarray(at, at + size);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('engine host over a Node child process', () => {
  let root: string;
  let engine: EngineProcess;
  const saved: Array<ReadonlyMap<string, unknown>> = [];
  const store: CredentialStore = {
    load: () => Promise.resolve(null),
    save: (value) => {
      saved.push(value);
      return Promise.resolve();
    },
  };

  beforeAll(async () => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'shardvault-host-'));
    for (const dir of ['profile', 'a', 'b', 'c']) mkdirSync(join(root, dir));
    engine = await forkEngine(
      { profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF, segmentSize: 65536 },
      HOST,
      store,
    );
  });

  afterAll(async () => {
    await engine?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('runs the engine in another process and relays calls by name', async () => {
    expect(engine.pid).toBeGreaterThan(0);
    expect(engine.pid).not.toBe(process.pid);
    expect(await engine.status()).toBeNull();
    const summary = await engine.createVault({
      locations: ['a', 'b', 'c'].map((d) => folderInput(join(root, d))),
      survive: 1,
      secretAgainst: 1,
      passphrase: PASSPHRASE,
    });
    expect(summary).toMatchObject({ data: 2, total: 3, threshold: 2 });
    // The engine kept the locations' credentials through the front's store.
    expect(saved.length).toBe(1);
    expect(saved[0]).toBeInstanceOf(Map);
    expect((await engine.status())?.locations.map((l) => l.reachable)).toEqual([true, true, true]);
  });

  it('streams putStream bytes to the engine, with progress events back', async () => {
    const data = randomBytes(3 * 2 ** 20 + 123);
    const events: ProgressEvent[] = [];
    const off = engine.onProgress((e) => events.push(e));
    const entry = await engine.putStream({
      name: 'streamed.bin',
      data: chunks(data, 100_000),
      expectedSize: data.length,
    });
    off();
    expect(entry).toMatchObject({ name: 'streamed.bin', size: data.length, sha256: sha256(data) });
    expect(events.some((e) => e.op === 'put' && e.name === 'streamed.bin' && e.done > 0)).toBe(true);
    const output = join(root, 'out.bin');
    await engine.getFile({ name: 'streamed.bin', output });
    expect(sha256(readFileSync(output))).toBe(sha256(data));
    expect((await engine.listFiles()).map((f) => f.name)).toEqual(['streamed.bin']);
  });

  it('answers a failure with the engine error code and message', async () => {
    const failure = await engine.putStream({ name: 'streamed.bin', data: chunks(randomBytes(1000), 100) }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(BridgeFailure);
    expect(toBridgeError(failure).code).toBe('exists');
    expect(toBridgeError(failure).message).toMatch(/streamed\.bin/);
    const missing = await engine.placement({ name: 'nope' }).then(() => null, toBridgeError);
    expect(missing).toEqual({ code: 'not-found', message: 'no file named "nope" in the vault' });
  });

  it('fails a put whose sender goes away, and goes on serving', async () => {
    const data = randomBytes(2 * 2 ** 20);
    const failure = await engine.putStream({ name: 'cut.bin', data: chunks(data, 65536, 2 ** 20) }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(BridgeFailure);
    expect((await engine.listFiles()).map((f) => f.name)).toEqual(['streamed.bin']);
  });

  it('serve on the same profile exits busy (5), the code relayed from its engine', async () => {
    const r = await runCli(['serve', '--port', '0'], {
      env: { SHARDVAULT_HOME: join(root, 'profile'), SHARDVAULT_PASSPHRASE: PASSPHRASE },
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(new RegExp(`pid ${engine.pid}\\b`));
  });

  it('closes the engine and its process', async () => {
    const pid = engine.pid!;
    await engine.close();
    expect(alive(pid)).toBe(false);
  });
});

describe('engine host that stops', () => {
  it('rejects the calls waiting on it, and later ones, with a typed error', async () => {
    ensureBuilt();
    const root = mkdtempSync(join(tmpdir(), 'shardvault-host-'));
    try {
      const engine = await forkEngine({ profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF }, HOST);
      process.kill(engine.pid!, 'SIGKILL');
      const first = await engine.status().then(() => null, toBridgeError);
      expect(first?.code).toBe('internal');
      expect(first?.message).toMatch(/engine process stopped/);
      const later = await engine.listFiles().then(() => null, toBridgeError);
      expect(later?.code).toBe('internal');
      await engine.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('byte-pipe frames', () => {
  it('come out whole however the pipe cuts them', () => {
    const frames = [
      [7, randomBytes(100_000)],
      [9, randomBytes(3)],
      [7, new Uint8Array(0)],
      [9, randomBytes(70_000)],
    ] as const;
    const wire = Buffer.concat(frames.flatMap(([id, bytes]) => [frameHeader(id, bytes.length), bytes]));
    for (const cut of [1, 5, 8, 4099, 65536, wire.length]) {
      const seen: Array<[number, string]> = [];
      const reader = new FrameReader((id, payload) => seen.push([id, sha256(payload)]));
      for (let at = 0; at < wire.length; at += cut) reader.push(wire.subarray(at, at + cut));
      expect(seen).toEqual(frames.map(([id, bytes]) => [id, sha256(bytes)]));
    }
  });
});

describe('engine host without a byte pipe (as in Electron)', () => {
  it('carries putStream bytes as messages', async () => {
    ensureBuilt();
    const root = mkdtempSync(join(tmpdir(), 'shardvault-host-'));
    for (const dir of ['profile', 'a', 'b', 'c']) mkdirSync(join(root, dir));
    const child = fork(HOST, [], { serialization: 'advanced', stdio: ['ignore', 2, 2, 'ipc'] });
    const link: HostLink = {
      pid: child.pid ?? null,
      post: (message) => void child.send(message),
      onMessage: (listener) => child.on('message', (m) => listener(m as FromHost)),
      onExit: (listener) => child.once('exit', (code) => listener(code)),
      kill: () => void child.kill('SIGKILL'),
    };
    const engine = await connectEngine(link, {
      profileDir: join(root, 'profile'),
      insecureKdf: INSECURE_TEST_KDF,
      segmentSize: 65536,
    });
    try {
      await engine.createVault({
        locations: ['a', 'b', 'c'].map((d) => folderInput(join(root, d))),
        survive: 1,
        secretAgainst: 1,
        passphrase: PASSPHRASE,
      });
      const data = randomBytes(2 ** 20 + 5);
      const entry = await engine.putStream({ name: 'm.bin', data: chunks(data, 50_000) });
      expect(entry.sha256).toBe(sha256(data));
    } finally {
      await engine.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
