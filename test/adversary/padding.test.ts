// Every location sees every manifest, head and audit log entry (issue 9, item 7): their sizes
// must not tell a file name's length byte for byte. Sealed JSON is padded to buckets (powers
// of two from 1 KiB for heads and manifests, multiples of 512 B from 1 KiB for log entries),
// without passing the bounds readers hold records to. Old unpadded records still read
// (test/format.test.ts reads the golden vault).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../../src/core/crypto/kdf';
import { generateX25519 } from '../../src/core/crypto/sealed-box';
import { decodeHead, encodeHead, type Head } from '../../src/core/format/head';
import { decodeManifest, encodeManifest, type Manifest } from '../../src/core/format/manifest';
import { MAX_MANIFEST_BYTES, PADDING, paddedJson } from '../../src/core/format/records';
import { decodeLogEntry, encodeLogEntry, ZERO_HASH } from '../../src/core/vault/audit';
import { putFile } from '../../src/core/vault/files';
import { Vault } from '../../src/core/vault/vault';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const NAMES = Array.from({ length: 501 }, (_, i) => `n${'x'.repeat(i)}`); // 1..501 bytes

const vaultId = hex(16);
const key = new Uint8Array(randomBytes(32));
const locations = Array.from({ length: 5 }, (_, i) => ({
  id: hex(16),
  name: `loc${i + 1}`,
  kind: 'local' as const,
  display: `/media/disk${i + 1}/vault`,
}));

function manifest(name: string, shards = 5, copies = 1): Manifest {
  return {
    vaultId,
    fileId: hex(16),
    version: 1,
    name,
    size: 123_456_789,
    sha256: hex(32),
    created: new Date().toISOString(),
    data: 3,
    total: shards,
    segmentSize: 4 * 1024 * 1024,
    shardsVersion: 1,
    fileKey: new Uint8Array(randomBytes(60)),
    shards: Array.from({ length: shards }, (_, index) => ({
      index,
      object: hex(16),
      key: new Uint8Array(randomBytes(60)),
      digest: hex(32),
      size: 41_152_358,
      locations: Array.from({ length: copies }, () => hex(16)),
    })),
  };
}

function head(name: string): Head {
  return {
    vaultId,
    counter: 7,
    generation: 1,
    policy: { data: 3, total: 5, threshold: 3, replicas: 1, segmentSize: 4 * 1024 * 1024 },
    locations,
    files: [{ id: hex(16), version: 1, name, size: 123_456_789, sha256: hex(32), created: new Date().toISOString() }],
    tombstones: [],
    logPublicKey: new Uint8Array(randomBytes(32)),
    logPrivateKey: new Uint8Array(randomBytes(32)),
    recoveryKey: new Uint8Array(randomBytes(32)),
    logAnchors: [{ device: hex(16), seq: 12, hash: hex(32) }],
    updated: new Date().toISOString(),
    dealId: hex(16),
    kdf: { params: { logN: 17, r: 8, p: 1 }, salt: new Uint8Array(randomBytes(32)) },
  };
}

const pair = generateX25519();
const deviceId = hex(16);
function logEntry(file: string): Uint8Array {
  return encodeLogEntry({
    vaultId,
    deviceId,
    deviceName: 'a-laptop-with-a-long-host-name.example.org',
    seq: 3,
    prevHash: ZERO_HASH,
    logPublicKey: pair.publicKey,
    event: { action: 'put', file, outcome: 'ok', locations: locations.map((l) => l.name) },
    time: new Date(),
  }).bytes;
}

describe('sealed metadata is padded to buckets', () => {
  it('manifests: names of 1 to 501 bytes give one stored size, and each still decodes', () => {
    const sizes = new Set<number>();
    for (const name of NAMES) {
      const m = manifest(name, 3);
      const bytes = encodeManifest(m, key);
      sizes.add(bytes.length);
      expect(decodeManifest(bytes, key, m).name).toBe(name);
    }
    expect([...sizes]).toEqual([41 + 12 + 2048 + 16]); // header, nonce, a 2 KiB bucket, tag
  });

  it('manifests of 2 to 12 shards: the size moves only at a power of two, at most once over 500 bytes', () => {
    for (let shards = 2; shards <= 12; shards++) {
      const names = NAMES.filter((_, i) => i % 20 === 0 || i === 500);
      const plain = new Set(names.map((name) => encodeManifest(manifest(name, shards), key).length - 41 - 12 - 16));
      expect(plain.size, `${shards} shards`).toBeLessThanOrEqual(2);
      for (const bytes of plain) expect(Number.isInteger(Math.log2(bytes)) && bytes >= 1024).toBe(true);
    }
  });

  it('vault heads: names of 1 to 501 bytes give one stored size, and each still decodes', () => {
    const sizes = new Set<number>();
    for (const name of NAMES) {
      const h = head(name);
      const bytes = encodeHead(h, key);
      sizes.add(bytes.length);
      expect(decodeHead(bytes, key, vaultId).files[0]!.name).toBe(name);
    }
    expect([...sizes]).toEqual([29 + 12 + 2048 + 16]);
  });

  it('audit log entries: names of 1 to 501 bytes give one stored size, and each still decodes', () => {
    const sizes = new Set<number>();
    for (const name of NAMES) {
      const bytes = logEntry(name);
      sizes.add(bytes.length);
      expect(decodeLogEntry(bytes, pair, { vaultId, deviceId, seq: 3 }).request.file).toBe(name);
    }
    expect([...sizes]).toEqual([77 + 32 + 1024 + 16]); // header, ephemeral key, 1 KiB, tag
  });

  it('sizes grow by bucket only: powers of two from 1 KiB, multiples of 512 from 1 KiB', () => {
    expect([1, 1024, 1025, 2048, 2049, 70_000].map(PADDING.powersOfTwo)).toEqual([
      1024, 1024, 2048, 2048, 4096, 131_072,
    ]);
    expect([1, 1024, 1025, 1536, 1537].map(PADDING.logEntry)).toEqual([1024, 1024, 1536, 1536, 2048]);
  });

  it('padding never passes the bound readers hold a record to; a body past it is refused', () => {
    // 255 shards with 64 copies each: about 620 KB of JSON, whose bucket (1 MiB) is more
    // than a manifest may be. It is padded up to the bound, not past it, and reads.
    const big = manifest('big', 255, 64);
    const bytes = encodeManifest(big, key);
    expect(bytes.length).toBe(MAX_MANIFEST_BYTES);
    expect(decodeManifest(bytes, key, big).shards).toHaveLength(255);
    expect(paddedJson({ a: 'b'.repeat(100) }, PADDING.powersOfTwo, 500, 'record').length).toBe(500);
    expect(() => paddedJson({ a: 'b'.repeat(600) }, PADDING.powersOfTwo, 500, 'record')).toThrow(RangeError);
  });
});

describe('two vaults whose one file names differ by 500 bytes look alike on a location', () => {
  let root: string;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(tmpdir(), 'sv-padding-'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  /** Every object of location 1 except shards, path (ids masked) -> size. */
  async function sizesAfterPut(vaultName: string, fileName: string): Promise<string[]> {
    const folders: string[] = [];
    for (let i = 0; i < 3; i++) {
      folders.push(path.join(root, vaultName, `loc${i}`));
      await fs.mkdir(folders[i]!, { recursive: true });
    }
    const { vault } = await Vault.create(path.join(root, vaultName, 'profile'), {
      locations: folders,
      policy: { survive: 1, secretAgainst: 1 },
      passphrase: 'padding test',
      kdf: INSECURE_TEST_KDF,
      segmentSize: 65536,
    });
    try {
      await putFile(vault, [new Uint8Array(randomBytes(10_000))], fileName);
    } finally {
      await vault.close();
    }
    const entries = await fs.readdir(folders[0]!, { recursive: true, withFileTypes: true });
    const out: string[] = [];
    for (const e of entries) {
      if (!e.isFile()) continue;
      const rel = path.relative(folders[0]!, path.join(e.parentPath, e.name));
      if (rel.startsWith('shards') || rel === 'shardvault.json' || rel.startsWith('keys')) continue;
      const size = (await fs.stat(path.join(folders[0]!, rel))).size;
      out.push(`${rel.replace(/[0-9a-f]{32}/g, 'ID')}: ${size}`);
    }
    return out.sort();
  }

  it('manifests, heads and log entries have the same stored sizes', async () => {
    // Same-length folder names, so the locations' recorded addresses are as long in both.
    const short = await sizesAfterPut('vault-a', 'n');
    const long = await sizesAfterPut('vault-b', `n${'x'.repeat(500)}`);
    expect(short.map((s) => s.split(':')[0])).toEqual(
      expect.arrayContaining(['head', 'heads/ID', 'manifests/ID-1', 'log/ID/000000000001']),
    );
    expect(long).toEqual(short);
  });
});
