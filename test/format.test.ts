// The on-location format: a golden vault written by format version 1 must stay readable
// (test/golden/vault-v1, see its .json), and every parser of bytes from a location is
// strict: random and mutated inputs give typed errors only, never a crash or a guess. The
// golden version 1 head is rewritten as version 3 (location addresses) by the current code.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateX25519 } from '../src/core/crypto/sealed-box';
import { ShardvaultError } from '../src/core/errors';
import { decodeHead, encodeHead } from '../src/core/format/head';
import { decodeManifest } from '../src/core/format/manifest';
import {
  decodeKeyShare,
  decodeVaultRecord,
  headHeader,
  openJson,
  readHeadHeader,
  readLogEntryHeader,
  sealJson,
} from '../src/core/format/records';
import { editLocation } from '../src/core/vault/location-ops';
import { decodeLogEntry } from '../src/core/vault/audit';
import { getFile, listFiles, readAccessLog } from '../src/core/vault/files';
import { decodeProfile } from '../src/core/vault/profile';
import { repair } from '../src/core/vault/repair';
import { Vault } from '../src/core/vault/vault';
import { isPack, isPacked } from '../src/core/vault/packs';

const goldenDir = new URL('./golden/vault-v1/', import.meta.url).pathname;
const golden = JSON.parse(await fs.readFile(new URL('./golden/vault-v1.json', import.meta.url), 'utf8')) as {
  passphrase: string;
  recoveryCode: string;
  vaultId: string;
  files: Record<string, { sha256: string; size: number }>;
};
const FUZZ_RUNS = Number(process.env['SHARDVAULT_FUZZ_RUNS'] ?? 2000);

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(tmpdir(), 'sv-golden-'));
  await fs.cp(goldenDir, path.join(work, 'loc'), { recursive: true });
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

const loc = (name: string): string => path.join(work, 'loc', name);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('golden vault v1', () => {
  it('opens from all locations and returns every file byte for byte', async () => {
    const vault = await Vault.attach(
      path.join(work, 'p1'),
      [loc('a'), loc('b'), loc('c')],
      { passphrase: golden.passphrase },
      null,
    );
    try {
      expect(vault.vaultId).toBe(golden.vaultId);
      const files = await listFiles(vault);
      expect(files.map((f) => f.name).sort()).toEqual(Object.keys(golden.files).sort());
      for (const [name, want] of Object.entries(golden.files)) {
        const out = path.join(work, `out-${name.replace(/\//g, '_')}`);
        await getFile(vault, name, out);
        const bytes = await fs.readFile(out);
        expect(bytes.length).toBe(want.size);
        expect(sha(bytes)).toBe(want.sha256);
      }
      const { requests } = await readAccessLog(vault);
      expect(requests.map((r) => `${r.action}:${r.outcome}`)).toEqual(
        expect.arrayContaining(['init:ok', 'put:ok', 'get:ok', 'unlock:denied', 'open:ok']),
      );
    } finally {
      await vault.close();
    }
  });

  it('repair takes its version 1 key shares as current: nothing is dealt again', async () => {
    await fs.cp(goldenDir, path.join(work, 'loc-repair'), { recursive: true });
    const at = (n: string): string => path.join(work, 'loc-repair', n);
    const keys = async (): Promise<string[]> =>
      Promise.all(
        ['a', 'b', 'c'].map(async (n) => {
          const dir = path.join(at(n), 'keys');
          const names = (await fs.readdir(dir)).sort();
          return `${n}:${names.join(',')}:${sha(Buffer.concat(await Promise.all(names.map((f) => fs.readFile(path.join(dir, f))))))}`;
        }),
      );
    const vault = await Vault.attach(
      path.join(work, 'p-repair'),
      [at('a'), at('b'), at('c')],
      {
        passphrase: golden.passphrase,
      },
      null,
    );
    try {
      const before = await keys();
      const report = await repair(vault, { deep: false });
      expect(report.keyShares).toBe('current');
      expect(await keys()).toEqual(before);
    } finally {
      await vault.close();
    }
  });

  it('opens from t = 2 locations with the recovery code, and not from one', async () => {
    const vault = await Vault.attach(
      path.join(work, 'p2'),
      [loc('b'), loc('c')],
      { passphrase: golden.passphrase },
      null,
    );
    await vault.close();
    await expect(
      Vault.attach(path.join(work, 'p3'), [loc('a')], { passphrase: golden.passphrase }, null),
    ).rejects.toMatchObject({
      code: 'unavailable',
    });
    // recovery needs a new passphrase and re-deals: do it on a copy
    await fs.cp(path.join(work, 'loc'), path.join(work, 'loc2'), { recursive: true });
    const copy = (n: string): string => path.join(work, 'loc2', n);
    const rec = await Vault.attach(
      path.join(work, 'p4'),
      [copy('a'), copy('c')],
      { recoveryCode: golden.recoveryCode },
      'a new passphrase',
    );
    await rec.close();
    const again = await Vault.load(path.join(work, 'p4'));
    await again.unlock({ passphrase: 'a new passphrase' });
    await again.close();
    // Only 2 of 3 locations hold the new shares (t = 2 < t + X = 3), so the old generation
    // stays too, and with it the old passphrase (docs/SECURITY.md, "Recovery").
    const old = await Vault.load(path.join(work, 'p4'));
    await old.unlock({ passphrase: golden.passphrase });
    await old.close();
    const keys = await fs.readdir(path.join(work, 'loc2', 'a', 'keys'));
    expect(keys.sort()).toEqual(['0000000001', '0000000002']);
  });
});

describe('golden vault v3 (head version 3: every location carries its address)', () => {
  const dir3 = new URL('./golden/vault-v3/', import.meta.url).pathname;
  const golden3 = JSON.parse(readFileSync(new URL('./golden/vault-v3.json', import.meta.url), 'utf8')) as typeof golden;
  const made = '/tmp/shardvault-golden-v3';

  it('opens from all locations and returns every file byte for byte; its head is version 3 with specs', async () => {
    expect(await headVersion(path.join(dir3, 'a'))).toBe(3);
    await fs.cp(dir3, path.join(work, 'g3'), { recursive: true });
    const at = (n: string): string => path.join(work, 'g3', n);
    const vault = await Vault.attach(
      path.join(work, 'g3-p1'),
      [at('a'), at('b'), at('c')],
      { passphrase: golden3.passphrase },
      null,
    );
    try {
      expect(vault.vaultId).toBe(golden3.vaultId);
      // The addresses the vault was made at, as the head recorded them.
      const head = decodeHead(
        new Uint8Array(await fs.readFile(path.join(dir3, 'a', 'head'))),
        vault.requireKeys().head,
        golden3.vaultId,
      );
      expect(head.locations.map((l) => [l.name, l.kind, l.display, l.spec])).toEqual(
        [
          ['alpha', 'a'],
          ['bravo', 'b'],
          ['charlie', 'c'],
        ].map(([name, n]) => [name, 'local', `${made}/${n}`, `${made}/${n}`]),
      );
      for (const [name, want] of Object.entries(golden3.files)) {
        const out = path.join(work, `g3-out-${name.replace(/\//g, '_')}`);
        await getFile(vault, name, out);
        const bytes = await fs.readFile(out);
        expect({ size: bytes.length, sha256: sha(bytes) }).toEqual(want);
      }
    } finally {
      await vault.close();
    }
  });

  it('a new device given two folders learns the third from the head: offline there, not lost, no sign-in', async () => {
    await fs.cp(dir3, path.join(work, 'g3b'), { recursive: true });
    const at = (n: string): string => path.join(work, 'g3b', n);
    const vault = await Vault.attach(
      path.join(work, 'g3-p2'),
      [at('a'), at('b')],
      { passphrase: golden3.passphrase },
      null,
    );
    try {
      const third = vault.profileLocations().find((l) => l.name === 'charlie')!;
      expect(third.spec).toBe(`${made}/c`);
      expect(third.needsSignIn).toBeUndefined();
      const files = await listFiles(vault);
      expect(files.map((f) => [f.health, f.awaiting, f.signIn])).toEqual(
        files.map(() => ['degraded', ['charlie'], []]),
      );
    } finally {
      await vault.close();
    }
  });
});

describe('golden vault v5 (head version 5: the small files of a put DIR packed)', () => {
  const dir5 = new URL('./golden/vault-v5/', import.meta.url).pathname;
  const golden5 = JSON.parse(readFileSync(new URL('./golden/vault-v5.json', import.meta.url), 'utf8')) as typeof golden;

  it('lists every file and no pack, reads packed and unpacked files byte for byte', async () => {
    expect(await headVersion(path.join(dir5, 'a'))).toBe(5);
    await fs.cp(dir5, path.join(work, 'g5'), { recursive: true });
    const at = (n: string): string => path.join(work, 'g5', n);
    const vault = await Vault.attach(
      path.join(work, 'g5-p1'),
      [at('a'), at('b'), at('c')],
      { passphrase: golden5.passphrase },
      null,
    );
    try {
      const head = vault.head();
      expect(head.files.filter(isPack)).toHaveLength(1);
      expect(
        head.files
          .filter(isPacked)
          .map((f) => f.name)
          .sort(),
      ).toEqual(['tree/a.txt', 'tree/none/', 'tree/sub/b.bin']);
      expect((await listFiles(vault)).map((f) => f.name).sort()).toEqual(Object.keys(golden5.files).sort());
      // `pack` is a version 5 field: the same body under a version 4 header is refused, and a
      // malformed extent is refused in version 5.
      const key = vault.requireKeys().head;
      expect(() => decodeHead(resealAs(4, head, key), key, head.vaultId)).toThrow(/\.pack is not a known field/);
      const bad = { ...head, files: head.files.map((f) => (f.pack ? { ...f, pack: { ...f.pack, offset: -1 } } : f)) };
      expect(() => decodeHead(encodeHead(bad, key), key, head.vaultId)).toThrow(/pack\.offset/);
      for (const [name, want] of Object.entries(golden5.files)) {
        if (name.endsWith('/')) continue;
        const out = path.join(work, `g5-out-${name.replace(/\//g, '_')}`);
        await getFile(vault, name, out);
        const bytes = await fs.readFile(out);
        expect({ size: bytes.length, sha256: sha(bytes) }).toEqual(want);
      }
    } finally {
      await vault.close();
    }
  });
});

describe('vault head version 3 (locations carry their address)', () => {
  it('the golden version 1 head reads; the next commits write version 3 with every location address', async () => {
    expect(await headVersion(path.join(goldenDir, 'a'))).toBe(1);
    await fs.cp(goldenDir, path.join(work, 'loc3'), { recursive: true });
    const at = (n: string): string => path.join(work, 'loc3', n);
    // Opened from copies: the head's recorded paths (/tmp/shardvault-golden-v1/...) are not
    // where this device reaches them, so their addresses are not the head's yet.
    const vault = await Vault.attach(
      path.join(work, 'v3-a'),
      [at('a'), at('b'), at('c')],
      { passphrase: golden.passphrase },
      null,
    );
    const names = vault.locations.map((l) => l.name);
    try {
      expect(await headVersion(at('a'))).toBe(3);
      expect(vault.head().locations.every((l) => l.spec === undefined)).toBe(true);
      // Telling the vault where each location is now writes its address into the head.
      for (const [i, name] of names.entries()) await editLocation(vault, name, { spec: at('abc'[i]!) });
      expect(vault.head().locations.map((l) => [l.display, l.spec])).toEqual(
        ['a', 'b', 'c'].map((n) => [at(n), at(n)]),
      );
    } finally {
      await vault.close();
    }
    // The head as a location holds it, read back with the version 3 rules.
    const bytes = new Uint8Array(await fs.readFile(path.join(at('b'), 'head')));
    const again = await Vault.load(path.join(work, 'v3-a'));
    await again.unlock({ passphrase: golden.passphrase });
    const decoded = decodeHead(bytes, again.requireKeys().head, golden.vaultId);
    await again.close();
    expect(decoded.locations.map((l) => l.spec)).toEqual([at('a'), at('b'), at('c')]);

    // A new device given two folders learns the third from the head: a folder needs no
    // sign-in, so it is used at once and every file reads from all three.
    const fresh = await Vault.attach(
      path.join(work, 'v3-b'),
      [at('a'), at('b')],
      { passphrase: golden.passphrase },
      null,
    );
    try {
      const third = fresh.profileLocations().find((l) => l.spec === at('c'));
      expect(third).toBeDefined();
      expect(third!.needsSignIn).toBeUndefined();
      const files = await listFiles(fresh);
      expect(files.map((f) => f.health)).toEqual(files.map(() => 'healthy'));
    } finally {
      await fresh.close();
    }
  });

  it('refuses an unknown location field, and a spec in a version 2 body', async () => {
    const vault = await Vault.attach(
      path.join(work, 'v3-c'),
      [loc('a'), loc('b')],
      { passphrase: golden.passphrase },
      null,
    );
    try {
      const key = vault.requireKeys().head;
      const head = vault.head();
      const withSpec = { ...head, locations: head.locations.map((l) => ({ ...l, spec: l.display })) };
      const v3 = encodeHead(withSpec, key);
      expect(decodeHead(v3, key, head.vaultId).locations.map((l) => l.spec)).toEqual(
        head.locations.map((l) => l.display),
      );
      // The same body under a version 2 header: a v2 entry has no spec. Byte 4 is the
      // version, and it is associated data, so it is re-sealed rather than flipped.
      expect(() => decodeHead(resealAs(2, withSpec, key), key, head.vaultId)).toThrow(
        /locations\[0\]\.spec is not a known field/,
      );
      const odd = { ...head, locations: head.locations.map((l) => ({ ...l, port: 22 })) };
      expect(() => decodeHead(encodeHead(odd, key), key, head.vaultId)).toThrow(
        /locations\[0\]\.port is not a known field/,
      );
    } finally {
      await vault.close();
    }
  });

  it("keeps a guard's re-sharing record (guard.reshare) and refuses a malformed one", async () => {
    const vault = await Vault.attach(
      path.join(work, 'v3-reshare'),
      [loc('a'), loc('b')],
      { passphrase: golden.passphrase },
      null,
    );
    try {
      const key = vault.requireKeys().head;
      const head = vault.head();
      const bytes32 = (n: number): Uint8Array => new Uint8Array(32).fill(n);
      const ids = ['11'.repeat(16), '22'.repeat(16), '33'.repeat(16)];
      const guard = {
        epoch: 1,
        threshold: 2,
        groupKey: bytes32(1),
        commitments: [bytes32(1), bytes32(2)],
        approvals: 0,
        guardians: [bytes32(3)],
        policyVersion: 1,
        members: ids.map((location, i) => ({
          location,
          index: i + 1,
          publicShare: bytes32(10 + i),
          identityKey: bytes32(20 + i),
          pin: `SHA256:${'A'.repeat(43)}`,
        })),
      };
      const reshare = { setupId: 'ab'.repeat(16), commit: [ids[0]!, '44'.repeat(16)], register: [ids[2]!] };
      const back = decodeHead(encodeHead({ ...head, guard: { ...guard, reshare } }, key), key, head.vaultId);
      expect(back.guard!.reshare).toEqual(reshare);
      expect(decodeHead(encodeHead({ ...head, guard }, key), key, head.vaultId).guard!.reshare).toBeUndefined();
      const bad = { ...head, guard: { ...guard, reshare: { ...reshare, commit: ['not hex'] } } };
      expect(() => decodeHead(encodeHead(bad, key), key, head.vaultId)).toThrow(/guard\.reshare\.commit\[0\]/);
      const extra = { ...head, guard: { ...guard, reshare: { ...reshare, by: 'x' } } };
      expect(() => decodeHead(encodeHead(extra, key), key, head.vaultId)).toThrow(
        /guard\.reshare\.by is not a known field/,
      );
    } finally {
      await vault.close();
    }
  });

  it('writes version 4 only with a domain; a domain in a version 3 body or out of its rule is refused', async () => {
    const vault = await Vault.attach(
      path.join(work, 'v4-domain'),
      [loc('a'), loc('b')],
      { passphrase: golden.passphrase },
      null,
    );
    try {
      const key = vault.requireKeys().head;
      const head = vault.head();
      expect(encodeHead(head, key)[4]).toBe(3);
      const withDomain = { ...head, locations: head.locations.map((l, i) => (i === 0 ? { ...l, domain: 'home' } : l)) };
      const v4 = encodeHead(withDomain, key);
      expect(v4[4]).toBe(4);
      expect(decodeHead(v4, key, head.vaultId).locations.map((l) => l.domain)).toEqual(
        head.locations.map((_, i) => (i === 0 ? 'home' : undefined)),
      );
      // An older head reads as no domain; a version 3 body may not carry one.
      expect(decodeHead(encodeHead(head, key), key, head.vaultId).locations.every((l) => l.domain === undefined)).toBe(
        true,
      );
      expect(() => decodeHead(resealAs(3, withDomain, key), key, head.vaultId)).toThrow(
        /locations\[0\]\.domain is not a known field/,
      );
      const bad = { ...head, locations: head.locations.map((l) => ({ ...l, domain: ' home\n' })) };
      expect(() => decodeHead(encodeHead(bad, key), key, head.vaultId)).toThrow(/locations\[0\]\.domain must be/);
    } finally {
      await vault.close();
    }
  });
});

async function headVersion(location: string): Promise<number> {
  return (await fs.readFile(path.join(location, 'head')))[4]!;
}

/** encodeHead's bytes with another version byte, sealed again so the box still opens. */
function resealAs(version: number, head: Parameters<typeof encodeHead>[0], key: Uint8Array): Uint8Array {
  const header = headHeader({ vaultId: head.vaultId, counter: head.counter });
  header[4] = version;
  const body = JSON.parse(new TextDecoder().decode(openJsonBody(encodeHead(head, key), key))) as unknown;
  return sealJson(header, key, body);
}

function openJsonBody(bytes: Uint8Array, key: Uint8Array): Uint8Array {
  const { headerBytes, rest } = readHeadHeader(bytes);
  return new TextEncoder().encode(JSON.stringify(openJson(headerBytes, key, rest, 'vault head')));
}

/** Feeds random and mutated inputs to a parser: it may accept the original only. */
function fuzz(name: string, original: Uint8Array, parse: (b: Uint8Array) => unknown): void {
  it(`${name}: mutated and random inputs give typed errors only`, () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('grow' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
      fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 512 }) }),
    );
    fc.assert(
      fc.property(mutation, (m) => {
        let input: Uint8Array;
        if (m.kind === 'flip') {
          input = original.slice();
          input[m.at % input.length]! ^= m.mask;
        } else if (m.kind === 'cut') input = original.subarray(0, m.at % original.length);
        else if (m.kind === 'grow') input = new Uint8Array([...original, ...m.extra]);
        else input = m.bytes;
        try {
          parse(input);
        } catch (err) {
          if (!(err instanceof ShardvaultError)) throw new Error(`untyped ${String(err)}`, { cause: err });
          return;
        }
        // A structural parser may accept a mutation (a changed key-check byte, a flipped
        // JSON whitespace): authentication rejects those later (crypto.test.ts). What it must
        // never do is crash with an untyped error.
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
}

describe('strict parsers', async () => {
  const read = (p: string): Promise<Uint8Array> => fs.readFile(path.join(goldenDir, p)).then((b) => new Uint8Array(b));
  const vaultRecord = await read('a/shardvault.json');
  const keyShare = await read('a/keys/0000000001');
  const head = await read('a/head');
  const manifests = await fs.readdir(path.join(goldenDir, 'a/manifests'));
  const manifest = await read(`a/manifests/${manifests[0]}`);
  const [fileId, version] = manifests[0]!.split('-');
  const logDirs = await fs.readdir(path.join(goldenDir, 'a/log'));
  const logEntry = await read(`a/log/${logDirs[0]}/000000000001`);
  const key = new Uint8Array(randomBytes(32));
  const pair = generateX25519();

  fuzz('location record', vaultRecord, decodeVaultRecord);
  fuzz('key share', keyShare, decodeKeyShare);
  fuzz('vault head', head, (b) => decodeHead(b, key, golden.vaultId));
  fuzz('manifest', manifest, (b) =>
    decodeManifest(b, key, { vaultId: golden.vaultId, fileId: fileId!, version: Number(version) }),
  );
  fuzz('audit log entry', logEntry, (b) =>
    decodeLogEntry(b, pair, { vaultId: golden.vaultId, deviceId: logDirs[0]!, seq: 1 }),
  );
  fuzz(
    'profile',
    new TextEncoder().encode(JSON.stringify({ format: 'shardvault-profile', version: 1 })),
    decodeProfile,
  );

  it('the golden records decode, and their headers say what they are', () => {
    expect(decodeVaultRecord(vaultRecord).vaultId).toBe(golden.vaultId);
    const share = decodeKeyShare(keyShare);
    expect(share).toMatchObject({ vaultId: golden.vaultId, generation: 1, threshold: 2, total: 3 });
    expect(readLogEntryHeader(logEntry).header.seq).toBe(1);
  });

  it('refuses unknown versions and scrypt costs out of bounds with clear errors', () => {
    const text = new TextDecoder().decode(vaultRecord);
    expect(() => decodeVaultRecord(new TextEncoder().encode(text.replace('"version": 1', '"version": 9')))).toThrow(
      /version/,
    );
    expect(() => decodeVaultRecord(new TextEncoder().encode(text.replace(/"logN": \d+/, '"logN": 40')))).toThrow(
      /logN/,
    );
    const bumped = keyShare.slice();
    bumped[4] = 9;
    expect(() => decodeKeyShare(bumped)).toThrow(/unknown version 9/);
  });
});
