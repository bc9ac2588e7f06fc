// A staged copy (`staged/<location id>-<object id>`, docs/FORMAT.md "Staged shard copies") is
// a parcel one location holds for another; completeStaged moves it home. A hostile location
// can list parcels of its own making, addressed to another location of the vault: before,
// the client copied whatever bytes it served, as many as it liked, onto that other location
// under a shard name, and forgot what it knew was damaged there. Unlocked, a parcel is moved
// only when a manifest of the head names its object there and it starts with that shard's
// header, and no more bytes than the manifest records.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../../src/core/crypto/kdf';
import { PATHS, SHARD_HEADER_BYTES } from '../../src/core/format/records';
import { fetchManifest, getFile, putFile } from '../../src/core/vault/files';
import { completeStaged } from '../../src/core/vault/staged';
import { Vault } from '../../src/core/vault/vault';
import { appendCase } from './ledger';

const NAMES = ['usb', 'nas', 'cloud'] as const;
let root: string;
let vault: Vault;
const folder = (n: string): string => nodePath.join(root, n);
const accepted: string[] = [];
const cases: string[] = [];

async function plant(host: string, name: string, bytes: Uint8Array): Promise<void> {
  await fs.mkdir(nodePath.join(folder(host), 'staged'), { recursive: true });
  await fs.writeFile(nodePath.join(folder(host), name), bytes);
}

const exists = (path: string): Promise<boolean> =>
  fs.lstat(path).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  root = await fs.mkdtemp(nodePath.join(tmpdir(), 'shardvault-parcel-'));
  for (const n of NAMES) await fs.mkdir(folder(n));
  ({ vault } = await Vault.create(nodePath.join(root, 'profile'), {
    locations: NAMES.map((n) => `${folder(n)}#${n}`),
    policy: { survive: 1, secretAgainst: 1 },
    passphrase: 'staged parcel test',
    kdf: INSECURE_TEST_KDF,
    segmentSize: 4096,
  }));
});

afterAll(async () => {
  await vault?.close();
  await fs.rm(root, { recursive: true, force: true });
  appendCase({
    name: 'staged parcels addressed by a hostile location',
    hostileRecords: cases.length,
    acceptedForgeries: accepted,
    outsideTouched: [],
    problems: accepted,
    notes: cases,
    durationMs: 0,
  });
});

describe('parcels a hostile location addresses to another', () => {
  it('moves no parcel no manifest names: 20 MiB of its bytes stay where they are', async () => {
    cases.push('unnamed parcel');
    const usb = vault.locations.find((l) => l.name === 'usb')!;
    const object = randomBytes(16).toString('hex');
    const name = PATHS.staged(usb.id, object);
    await plant('nas', name, Buffer.alloc(20 << 20, 7));
    const done = await completeStaged(vault);
    expect(done.moved).toBe(0);
    const landed = await exists(nodePath.join(folder('usb'), PATHS.shard(object)));
    if (landed) accepted.push(`an unnamed parcel was written to usb as ${PATHS.shard(object)}`);
    expect(landed).toBe(false);
  });

  it('moves no parcel that names a real shard but is not that shard', async () => {
    cases.push('parcel with a borrowed header');
    const data = randomBytes(50_000);
    await putFile(vault, [data], 'real.bin');
    const m = await fetchManifest(
      vault,
      vault.head().files.find((f) => f.name === 'real.bin')!,
    );
    const usb = vault.locations.find((l) => l.name === 'usb')!;
    const nas = vault.locations.find((l) => l.name === 'nas')!;
    const onUsb = m.shards.find((s) => s.locations.includes(usb.id))!;
    const onNas = m.shards.find((s) => s.locations.includes(nas.id))!;
    // usb lost its shard; nas, which can read its own shard of the file, dresses its bytes
    // (another shard's header, then garbage) as the lost one.
    await fs.rm(nodePath.join(folder('usb'), PATHS.shard(onUsb.object)));
    const own = await fs.readFile(nodePath.join(folder('nas'), PATHS.shard(onNas.object)));
    const forged = Buffer.concat([own.subarray(0, SHARD_HEADER_BYTES), Buffer.alloc(onUsb.size, 9)]);
    await plant('nas', PATHS.staged(usb.id, onUsb.object), forged);
    const done = await completeStaged(vault);
    expect(done.moved).toBe(0);
    expect(done.left.join('\n')).toContain(`is not shard ${onUsb.index} of real.bin`);
    const landed = await exists(nodePath.join(folder('usb'), PATHS.shard(onUsb.object)));
    if (landed) accepted.push(`a parcel with shard ${onNas.index}'s header was written to usb as shard ${onUsb.index}`);
    expect(landed).toBe(false);
    // The file still reads from the other two.
    const out = nodePath.join(root, 'real.out');
    await getFile(vault, 'real.bin', out);
    expect((await fs.readFile(out)).equals(data)).toBe(true);
  });

  // Last: the vault stays locked after it.
  it('locked, moves a parcel no more bytes than its location listed', async () => {
    cases.push('locked parcel larger than listed');
    const usb = vault.locations.find((l) => l.name === 'usb')!;
    const nas = vault.locations.find((l) => l.name === 'nas')!;
    const object = randomBytes(16).toString('hex');
    await plant('nas', PATHS.staged(usb.id, object), Buffer.alloc(8 << 20, 5));
    // nas lists its parcel small and then serves all of it.
    const list = nas.node.list.bind(nas.node);
    nas.node.list = async (dir) => (await list(dir)).map((o) => ({ ...o, size: Math.min(o.size, 1000) }));
    // And one for a name usb holds: its bytes are hashed to compare, no more than listed either.
    const held = randomBytes(16).toString('hex');
    await fs.mkdir(nodePath.join(folder('usb'), 'shards'), { recursive: true });
    await fs.writeFile(nodePath.join(folder('usb'), PATHS.shard(held)), Buffer.alloc(10, 1));
    await plant('nas', PATHS.staged(usb.id, held), Buffer.alloc(8 << 20, 6));
    vault.lock();
    const done = await completeStaged(vault);
    for (const o of [object, held]) {
      expect(
        done.left.some((l) => l.includes(`sent more than the 1000 bytes of ${PATHS.staged(usb.id, o)}`)),
        o,
      ).toBe(true);
    }
    expect(done.conflicts).toEqual([]);
    const landed = await exists(nodePath.join(folder('usb'), PATHS.shard(object)));
    if (landed) accepted.push(`a parcel listed as 1000 bytes wrote ${PATHS.shard(object)} on usb`);
    expect(landed).toBe(false);
  });
});
