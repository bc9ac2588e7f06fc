/**
 * The one conformance suite every StorageNode runs (rclone's fstests.Run, restic's generic
 * backend tests): each backend's test file starts its real server and calls
 * runConformance. Every test works in its own folder, so their order does not matter.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForeignObjectError, NotFoundError, OfflineError } from '../../src/core/errors';
import { PATHS } from '../../src/core/format/records';
import { readObject, type ObjectInfo, type StorageNode } from '../../src/core/storage/node';

export interface NodeUnderTest {
  readonly node: StorageNode;
  /** Cleans up what makeNode made besides the node (the node itself is closed by the suite). */
  readonly stop?: () => Promise<void>;
}

/** What a server under test can't do that the kind's other servers do; each says why. */
export interface ConformanceOptions {
  /**
   * The server writes an object into place as it receives it (s3rver), where the kind's
   * real servers make it visible whole (S3, MinIO). A node can't make up for it (S3 has no
   * rename), so the cases of atomic replacement are skipped, and this reason is printed;
   * concurrent writers to different paths are still tested.
   */
  readonly writesInPlace?: string;
  /**
   * A reader of an object being replaced may fail (OfflineError) instead of seeing the old
   * object whole: a server that reads by name, not by open file (rclone serve sftp without a
   * VFS cache), ends the old file's stream early. It must never pass off a truncated object.
   */
  readonly replaceMayInterruptReaders?: boolean;
}

const MiB = 1 << 20;

export function runConformance(
  name: string,
  makeNode: () => Promise<NodeUnderTest>,
  options: ConformanceOptions = {},
): void {
  describe(`${name}: StorageNode conformance`, () => {
    const atomic = options.writesInPlace === undefined;
    if (!atomic) console.info(`${name}: atomic replacement is not tested: ${options.writesInPlace}`);
    let made: NodeUnderTest | undefined;
    let node: StorageNode;
    let folder = 0;
    /** A fresh folder for one test. */
    const dir = (): string => `c${++folder}-${randomBytes(3).toString('hex')}`;

    beforeAll(async () => {
      made = await makeNode();
      node = made.node;
    });
    afterAll(async () => {
      await made?.node.close();
      await made?.stop?.();
    });

    it.each([
      ['0 B', 0],
      ['1 B', 1],
      ['1 MiB + 1', MiB + 1],
    ])('round-trips %s as bytes and as a stream', async (_, size) => {
      const d = dir();
      const data = pattern(`bytes-${size}`, size);
      expect(await node.put(`${d}/bytes`, data)).toBe(size);
      expect(await node.put(`${d}/stream`, chunked(data, 65_537))).toBe(size);
      for (const p of [`${d}/bytes`, `${d}/stream`]) {
        expect(bare(await node.stat(p))).toEqual({ path: p, size });
        expect(equalBytes(await readObject(node, p, size), data)).toBe(true);
      }
    });

    it('streams 64 MiB in and out without buffering it, byte for byte (SHA-256)', { timeout: 120_000 }, async () => {
      const d = dir();
      const size = 64 * MiB;
      const expected = await digest(generate('big', size, MiB));
      expect(await node.put(`${d}/big`, generate('big', size, MiB))).toBe(size);
      expect(bare(await node.stat(`${d}/big`))).toEqual({ path: `${d}/big`, size });
      const got = await digestCounting(await node.get(`${d}/big`));
      expect(got.size).toBe(size);
      expect(got.hash).toBe(expected);
    });

    it('rejects get of a missing object with NotFoundError', async () => {
      const d = dir();
      await expect(node.get(`${d}/nothing`)).rejects.toBeInstanceOf(NotFoundError);
      await node.put(`${d}/present`, pattern('p', 10));
      await expect(node.get(`${d}/absent`)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('reads a range: inside, up to and across the end, past it; a missing object is NotFoundError', async () => {
      const d = dir();
      const size = 5 * MiB + 3; // more than one SFTP read window (16 x 256 KiB)
      const data = pattern('range', size);
      await node.put(`${d}/obj`, data);
      const range = async (offset: number, length: number): Promise<boolean> =>
        equalBytes(
          await node.readRange(`${d}/obj`, offset, length),
          data.subarray(offset, Math.min(size, offset + length)),
        );
      expect(await range(0, 49)).toBe(true);
      expect(await range(300_001, 600_000)).toBe(true); // across read pieces
      expect(await range(7, size - 7)).toBe(true); // across read windows, to the end
      expect(await range(size - 100, 100)).toBe(true);
      expect(await range(size - 10, 100)).toBe(true); // 10 bytes: the object ends first
      expect((await node.readRange(`${d}/obj`, size, 10)).length).toBe(0);
      expect((await node.readRange(`${d}/obj`, size + 5, 10)).length).toBe(0);
      await expect(node.readRange(`${d}/absent`, 0, 10)).rejects.toBeInstanceOf(NotFoundError);
      for (const [offset, length] of [
        [-1, 1],
        [0, 0],
        [0.5, 1],
        [0, Number.MAX_SAFE_INTEGER],
      ] as const) {
        await expect(node.readRange(`${d}/obj`, offset, length)).rejects.toThrow(RangeError);
      }
    });

    it('stats an object, and answers null for a missing one or a folder', async () => {
      const d = dir();
      await node.put(`${d}/sub/obj`, pattern('s', 1234));
      expect(bare(await node.stat(`${d}/sub/obj`))).toEqual({ path: `${d}/sub/obj`, size: 1234 });
      expect(await node.stat(`${d}/sub/missing`)).toBeNull();
      expect(await node.stat(`${d}/nofolder/missing`)).toBeNull();
      expect(await node.stat(`${d}/sub`)).toBeNull();
    });

    it('lists the objects directly inside a folder, and a missing folder as empty', async () => {
      const d = dir();
      await node.put(`${d}/a`, pattern('a', 3));
      await node.put(`${d}/b.bin`, pattern('b', 0));
      await node.put(`${d}/sub/c`, pattern('c', 5));
      const listed = bareList(await node.list(d)).sort((x, y) => x.path.localeCompare(y.path));
      expect(listed).toEqual([
        { path: `${d}/a`, size: 3 },
        { path: `${d}/b.bin`, size: 0 },
      ]);
      expect(bareList(await node.list(`${d}/sub`))).toEqual([{ path: `${d}/sub/c`, size: 5 }]);
      expect(await node.list(`${d}/missing`)).toEqual([]);
      expect(await node.list(`${d}/missing/deeper`)).toEqual([]);
    });

    it('gives a plausible modification time where it gives one', async () => {
      const d = dir();
      const before = Date.now();
      await node.put(`${d}/obj`, pattern('m', 10));
      const infos = [await node.stat(`${d}/obj`), ...(await node.list(d))];
      for (const info of infos) {
        if (info?.modifiedMs === undefined) continue;
        // Loopback servers share this clock; their times may be whole seconds.
        expect(info.modifiedMs).toBeGreaterThanOrEqual(before - 2000);
        expect(info.modifiedMs).toBeLessThanOrEqual(Date.now() + 2000);
      }
    });

    it('lists the root folder', async () => {
      // A root object the format makes, so that it can be deleted again (no other test uses it).
      const name = PATHS.head;
      await node.put(name, pattern('r', 7));
      const listed = await node.list('');
      expect(bareList(listed)).toContainEqual({ path: name, size: 7 });
      for (const entry of listed) expect(entry.path).not.toContain('/');
      await node.delete(name);
    });

    // delete removes only names the vault format makes (node.ts assertDeletable).
    it('deletes an object; deleting a missing one succeeds', async () => {
      const x = PATHS.shard(randomBytes(16).toString('hex'));
      await node.put(x, pattern('x', 100));
      await node.delete(x);
      expect(await node.stat(x)).toBeNull();
      await expect(node.get(x)).rejects.toBeInstanceOf(NotFoundError);
      await node.delete(x);
      await node.delete(PATHS.logEntry(randomBytes(16).toString('hex'), 1));
    });

    it('refuses to delete a name the vault format does not make, and deletes nothing', async () => {
      const d = dir();
      await node.put(`${d}/notes.txt`, pattern('n', 10));
      const shard = PATHS.shard(randomBytes(16).toString('hex'));
      await node.put(shard, pattern('s', 10));
      for (const name of [`${d}/notes.txt`, 'shards', `${shard}x`, shard.toUpperCase(), 'keys/1', 'tmp/x.part']) {
        await expect(node.delete(name)).rejects.toBeInstanceOf(ForeignObjectError);
      }
      expect(bare(await node.stat(`${d}/notes.txt`))).toEqual({ path: `${d}/notes.txt`, size: 10 });
      expect(bare(await node.stat(shard))).toEqual({ path: shard, size: 10 });
      await node.delete(shard);
    });

    it('puts into missing parent folders', async () => {
      const d = dir();
      await node.put(`${d}/a/b/c/d/obj`, pattern('deep', 42));
      expect(bare(await node.stat(`${d}/a/b/c/d/obj`))).toEqual({ path: `${d}/a/b/c/d/obj`, size: 42 });
      expect(bareList(await node.list(`${d}/a/b/c/d`))).toEqual([{ path: `${d}/a/b/c/d/obj`, size: 42 }]);
    });

    it.skipIf(!atomic)(
      'replaces an object atomically: readers see the old or the new one, whole',
      { timeout: 60_000 },
      async () => {
        const d = dir();
        const path = `${d}/obj`;
        const v1 = pattern('v1', 3 * MiB);
        const v2 = pattern('v2', 2 * MiB + 17);
        await node.put(path, v1);
        let writing = true;
        const writer = node.put(path, slowly(chunked(v2, 256 * 1024), 20)).finally(() => {
          writing = false;
        });
        let reads = 0;
        while (writing || reads < 2) {
          let got: Uint8Array;
          try {
            got = await readObject(node, path, 4 * MiB);
          } catch (err) {
            if (!options.replaceMayInterruptReaders) throw err;
            expect(err).toBeInstanceOf(OfflineError);
            continue;
          }
          expect(equalBytes(got, v1) || equalBytes(got, v2)).toBe(true);
          reads++;
        }
        await writer;
        expect(equalBytes(await readObject(node, path, 4 * MiB), v2)).toBe(true);
      },
    );

    it.skipIf(!atomic)(
      'takes concurrent writers: to different paths, and to one path (one whole version wins)',
      async () => {
        const d = dir();
        const apart = Array.from({ length: 8 }, (_, i) => pattern(`apart-${i}`, 100_000 + i));
        const same = Array.from({ length: 4 }, (_, i) => pattern(`same-${i}`, 200_000 + i * 1000));
        await Promise.all([
          ...apart.map((data, i) => node.put(`${d}/apart/${i}`, i % 2 ? data : chunked(data, 30_000))),
          ...same.map((data, i) => node.put(`${d}/same`, i % 2 ? data : chunked(data, 50_000))),
        ]);
        for (const [i, data] of apart.entries()) {
          expect(equalBytes(await readObject(node, `${d}/apart/${i}`, MiB), data)).toBe(true);
        }
        const winner = await readObject(node, `${d}/same`, MiB);
        expect(same.some((data) => equalBytes(winner, data))).toBe(true);
        expect((await node.list(d)).map((e) => e.path)).toEqual([`${d}/same`]);
      },
    );

    if (!atomic) {
      it('takes concurrent writers to different paths (a server that writes in place)', async () => {
        const d = dir();
        const apart = Array.from({ length: 12 }, (_, i) => pattern(`apart-${i}`, 100_000 + i));
        await Promise.all(apart.map((data, i) => node.put(`${d}/apart/${i}`, i % 2 ? data : chunked(data, 30_000))));
        for (const [i, data] of apart.entries()) {
          expect(equalBytes(await readObject(node, `${d}/apart/${i}`, MiB), data)).toBe(true);
        }
      });
    }

    it('leaves the previous object and nothing new when the data source fails midway', async () => {
      const d = dir();
      const v1 = pattern('kept', 5000);
      await node.put(`${d}/obj`, v1);
      const boom = new Error('source broke');
      // The caller's own error comes back (as it was, or wrapped with its message).
      await expect(node.put(`${d}/obj`, failing(pattern('new', 3 * MiB), MiB, boom))).rejects.toThrow(boom.message);
      await expect(node.put(`${d}/fresh`, failing(pattern('new', 3 * MiB), MiB, boom))).rejects.toThrow(boom.message);
      expect(equalBytes(await readObject(node, `${d}/obj`, MiB), v1)).toBe(true);
      expect(await node.stat(`${d}/fresh`)).toBeNull();
      expect(bareList(await node.list(d))).toEqual([{ path: `${d}/obj`, size: 5000 }]);
      // A temporary object may be left over (the contract allows it): a server can still be
      // writing the aborted upload when the node deletes it (rclone does).
      for (const leftover of await node.list('tmp')) expect(leftover.path).toMatch(/^tmp\/[^/]+\.part$/);
    });

    it('releases a stream the caller stops early', async () => {
      const d = dir();
      await node.put(`${d}/obj`, pattern('early', 2 * MiB));
      for (let i = 0; i < 12; i++) {
        for await (const chunk of await node.get(`${d}/obj`)) {
          expect(chunk.length).toBeGreaterThan(0);
          break;
        }
      }
      const unread = await node.get(`${d}/obj`);
      await unread[Symbol.asyncIterator]().return?.();
      expect(bare(await node.stat(`${d}/obj`))).toEqual({ path: `${d}/obj`, size: 2 * MiB });
    });

    it.each(['../x', '/abs', '', 'a//b', 'a/../b', './a', 'a/', 'a b'])('refuses the object path %j', async (bad) => {
      await expect(node.put(bad, new Uint8Array(1))).rejects.toThrow(RangeError);
      await expect(node.get(bad)).rejects.toThrow(RangeError);
      await expect(node.stat(bad)).rejects.toThrow(RangeError);
      await expect(node.delete(bad)).rejects.toThrow(RangeError);
      if (bad !== '') await expect(node.list(bad)).rejects.toThrow(RangeError);
    });

    it('reports health: reachable, with a latency', async () => {
      const health = await node.health();
      expect(health.error).toBeNull();
      expect(health.reachable).toBe(true);
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
      expect(health.latencyMs).toBeLessThan(5000);
      if (health.freeBytes !== null) expect(health.freeBytes).toBeGreaterThanOrEqual(0);
    });

    it('never shows credentials in its display string', () => {
      expect(node.display).not.toMatch(/pass|secret|correct horse/i);
    });
  });
}

/** path and size only: modifiedMs is optional and checked on its own. */
function bare(info: ObjectInfo | null): { path: string; size: number } | null {
  return info === null ? null : { path: info.path, size: info.size };
}

function bareList(infos: readonly ObjectInfo[]): { path: string; size: number }[] {
  return infos.map((i) => ({ path: i.path, size: i.size }));
}

// --- data helpers: deterministic, cheap, streamed -------------------------------------------

/** `size` deterministic pseudo-random bytes (AES-128-CTR keystream keyed by `seed`). */
export function pattern(seed: string, size: number): Uint8Array {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** The same bytes as `pattern(seed, size)`, made and yielded `chunk` at a time. */
export function generate(seed: string, size: number, chunk: number): AsyncGenerator<Uint8Array> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(chunk);
  return toAsync(
    (function* () {
      for (let at = 0; at < size; at += chunk) {
        const n = Math.min(chunk, size - at);
        yield cipher.update(n === chunk ? zeros : zeros.subarray(0, n));
      }
    })(),
  );
}

/** `data` in fresh chunks of `size` bytes. */
export function chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  return toAsync(
    (function* () {
      for (let at = 0; at < data.length; at += size) yield data.slice(at, at + size);
    })(),
  );
}

/** A sync iterable as an async one, a microtask per item like a real producer. */
export async function* toAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

async function* slowly(source: AsyncIterable<Uint8Array>, delayMs: number): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    yield chunk;
  }
}

/** Yields `data` until `after` bytes have gone, then throws `error`. */
export async function* failing(data: Uint8Array, after: number, error: Error): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunked(data, 64 * 1024)) {
    if (after <= 0) throw error;
    after -= chunk.length;
    yield chunk;
  }
}

export async function digest(source: AsyncIterable<Uint8Array>): Promise<string> {
  return (await digestCounting(source)).hash;
}

export async function digestCounting(source: AsyncIterable<Uint8Array>): Promise<{ hash: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { hash: hash.digest('hex'), size };
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

// --- fault helpers for the per-backend files ------------------------------------------------

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that accepts connections and never says a word. */
export async function silentServer(): Promise<{ port: number; stop: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Puts a 64 MiB stream and calls `kill` (the server's death) after 8 MiB; returns the put's error. */
export async function putWhileServerDies(node: StorageNode, path: string, kill: () => Promise<void>): Promise<unknown> {
  async function* source(): AsyncGenerator<Uint8Array> {
    let sent = 0;
    for await (const chunk of generate('dying', 64 * MiB, MiB)) {
      if (sent === 8 * MiB) await kill();
      sent += chunk.length;
      yield chunk;
    }
  }
  return node.put(path, source()).then(
    () => null,
    (err: unknown) => err,
  );
}

/** Reads one chunk of `path`, calls `kill`, reads on; returns the error the stream ends with. */
export async function getWhileServerDies(node: StorageNode, path: string, kill: () => Promise<void>): Promise<unknown> {
  const stream = await node.get(path);
  let first = true;
  try {
    for await (const _ of stream) {
      if (first) await kill();
      first = false;
    }
    return null;
  } catch (err) {
    return err;
  }
}
