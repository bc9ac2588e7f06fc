/**
 * Put/get throughput of a 64 MiB object per location type, against the same real servers
 * the conformance suite starts (loopback), each node composed as production composes it. Best of RUNS, in MB/s (10^6 bytes per second).
 *
 *   npx esbuild scripts/bench-locations.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=out/bench/bench-locations.mjs && node out/bench/bench-locations.mjs
 *
 * The bundle goes under out/, not /tmp: with --packages=external it imports ssh2 from
 * the project's node_modules, which Node finds only from inside the project.
 * Timings on 2 cores move a lot between runs (client and server share them): compare
 * within one run. RUNS=5 for steadier numbers; ONLY=s3 (a piece of the location's name,
 * any case) to run some of them.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { PATHS } from '../src/core/format/records';
import { KINDS } from '../src/core/storage/kinds';
import { LocalFolderNode } from '../src/core/storage/local';
import type { StorageNode } from '../src/core/storage/node';
import { S3Node } from '../src/core/storage/s3/node';
import { SftpNode } from '../src/core/storage/sftp/node';
import { WebDavNode } from '../src/core/storage/webdav/node';
import { startApache } from '../test/servers/apache';
import { startRclone } from '../test/servers/rclone';
import { startS3rver } from '../test/servers/s3rver';
import { startSshd } from '../test/servers/sshd';

const SIZE = 64 << 20;
const CHUNK = 1 << 20;
const RUNS = Number(process.env.RUNS ?? 3);
const ONLY = (process.env.ONLY ?? '').toLowerCase();

/** The 64 MiB object, made once: timing the location, not the generator. */
const chunks: Buffer[] = (() => {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16));
  return Array.from({ length: SIZE / CHUNK }, () => cipher.update(Buffer.alloc(CHUNK)));
})();
const expected = chunks.reduce((h, c) => h.update(c), createHash('sha256')).digest('hex');

async function* source(): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield await Promise.resolve(chunk);
}

async function measure(node: StorageNode): Promise<{ put: number; get: number }> {
  let put = 0;
  let get = 0;
  for (let run = 0; run < RUNS; run++) {
    // A name the format makes, so that delete takes it (node.ts assertDeletable).
    const path = PATHS.shard(randomBytes(16).toString('hex'));
    let started = performance.now();
    await node.put(path, source());
    put = Math.max(put, SIZE / 1e6 / ((performance.now() - started) / 1000));
    started = performance.now();
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await node.get(path)) {
      hash.update(chunk);
      size += chunk.length;
    }
    get = Math.max(get, SIZE / 1e6 / ((performance.now() - started) / 1000));
    if (size !== SIZE || hash.digest('hex') !== expected) throw new Error(`${node.display}: bytes differ`);
    await node.delete(path);
  }
  return { put, get };
}

const results: { location: string; put: number; get: number }[] = [];
async function bench(location: string, make: () => Promise<{ node: StorageNode; stop: () => Promise<void> }>) {
  if (!location.toLowerCase().includes(ONLY)) return;
  const made = await make();
  // As production composes it (the kind's limits, retry and breaker).
  const node = KINDS[made.node.kind].compose(made.node);
  const stop = made.stop;
  try {
    results.push({ location, ...(await measure(node)) });
  } finally {
    await node.close();
    await stop();
  }
}

await bench('local folder', async () => {
  const dir = await mkdtemp(nodePath.join(tmpdir(), 'shardvault-bench-'));
  return { node: new LocalFolderNode(dir), stop: () => rm(dir, { recursive: true, force: true }) };
});
await bench('SFTP, OpenSSH sshd', async () => {
  const s = await startSshd();
  const node = new SftpNode({
    host: s.host,
    port: s.port,
    username: s.user,
    root: s.dataDir,
    privateKeyPath: s.keyPath,
    fingerprint: s.fingerprint,
  });
  return { node, stop: () => s.stop() };
});
await bench('SFTP, rclone serve sftp', async () => {
  const s = await startRclone('sftp');
  const node = new SftpNode({
    host: s.host,
    port: s.port,
    username: s.user,
    password: s.password,
    root: s.root,
    fingerprint: s.fingerprint,
  });
  return { node, stop: () => s.stop() };
});
await bench('WebDAV, rclone serve webdav', async () => {
  const s = await startRclone('webdav');
  return { node: new WebDavNode({ url: s.url, username: s.user, password: s.password }), stop: () => s.stop() };
});
await bench('WebDAV, Apache mod_dav', async () => {
  const s = await startApache();
  return { node: new WebDavNode({ url: s.url, username: s.user, password: s.password }), stop: () => s.stop() };
});
await bench('S3, s3rver (path style, plain http)', async () => {
  const s = await startS3rver();
  const node = new S3Node({
    host: s.host,
    port: s.port,
    bucket: s.bucket,
    region: 'us-east-1',
    style: 'path',
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    secure: false,
  });
  return { node, stop: () => s.stop() };
});

console.log(`64 MiB object, streamed in 1 MiB chunks, SHA-256 checked; best of ${RUNS}; Node ${process.version}`);
console.log('| location | put MB/s | get MB/s |');
console.log('|---|---:|---:|');
for (const r of results) console.log(`| ${r.location} | ${r.put.toFixed(0)} | ${r.get.toFixed(0)} |`);
