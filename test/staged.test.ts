// Shard copies for a location that is away (src/core/vault/staged.ts): where they wait, and
// how they are moved home without a key, never over other bytes.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { PATHS } from '../src/core/format/records';
import { DamageRegister } from '../src/core/vault/damage';
import { getFile, listFiles, putFile, verify } from '../src/core/vault/files';
import { survivesLosses } from '../src/core/vault/policy';
import { repair } from '../src/core/vault/repair';
import { completeStaged, stageAway } from '../src/core/vault/staged';
import { Vault } from '../src/core/vault/vault';

describe('stageAway', () => {
  const hosts = (placed: ReturnType<typeof stageAway>): string[][] => placed.map((c) => c.map((x) => x.host));

  it('puts an away copy on the present location holding the fewest, never beside its own shard', () => {
    const placed = stageAway([['a'], ['b'], ['c']], new Set(['a', 'b']), ['a', 'b', 'c']);
    expect(placed).toEqual([[{ host: 'a', home: 'a' }], [{ host: 'b', home: 'b' }], [{ host: 'a', home: 'c' }]]);
    expect(survivesLosses(hosts(placed), 2)).toBe(0);
  });

  it('spreads several away copies over the present locations: 3 of 5 with two away survives one more loss', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const placed = stageAway(
      ids.map((id) => [id]),
      new Set(['a', 'b', 'c']),
      ids,
    );
    expect(hosts(placed)).toEqual([['a'], ['b'], ['c'], ['a'], ['b']]);
    expect(survivesLosses(hosts(placed), 3)).toBe(1);
  });

  it('with two copies per shard, an away copy goes where that shard is not; none where every present one has it', () => {
    const placed = stageAway(
      [
        ['a', 'b'],
        ['c', 'a'],
        ['b', 'c'],
      ],
      new Set(['a', 'b']),
      ['a', 'b', 'c'],
    );
    expect(hosts(placed)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
      ['b', 'a'],
    ]);
    expect(stageAway([['a', 'c']], new Set(['a']), ['a', 'c'])).toEqual([[{ host: 'a', home: 'a' }]]);
  });
});

describe('moving staged copies home', () => {
  let root: string;
  let vault: Vault;
  const folder = (n: string): string => path.join(root, n);

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(tmpdir(), 'sv-staged-'));
    for (const n of ['usb', 'nas', 'cloud']) await fs.mkdir(folder(n));
    ({ vault } = await Vault.create(path.join(root, 'profile'), {
      locations: ['usb', 'nas', 'cloud'].map((n) => `${folder(n)}#${n}`),
      policy: { survive: 1, secretAgainst: 1 },
      passphrase: 'staged test',
      kdf: INSECURE_TEST_KDF,
      segmentSize: 4096,
    }));
  });

  afterAll(async () => {
    await vault.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  async function stagedObjects(): Promise<string[]> {
    const out: string[] = [];
    for (const n of ['nas', 'cloud'])
      for (const f of await fs.readdir(path.join(folder(n), 'staged')).catch(() => [] as string[]))
        out.push(path.join(folder(n), 'staged', f));
    return out;
  }

  it('leaves a copy whose location holds other bytes under its name, and remembers that one as damaged', async () => {
    await fs.rename(folder('usb'), `${folder('usb')}.away`);
    await putFile(vault, [new Uint8Array(randomBytes(10_000))], 'f');
    await fs.rename(`${folder('usb')}.away`, folder('usb'));
    const [staged] = await stagedObjects();
    expect(staged).toBeDefined();
    const object = path.basename(staged!).split('-')[1]!;
    // Someone put other bytes under the shard's name on usb meanwhile.
    const planted = path.join(folder('usb'), PATHS.shard(object));
    await fs.mkdir(path.dirname(planted), { recursive: true });
    await fs.writeFile(planted, randomBytes((await fs.stat(staged!)).size));

    const done = await completeStaged(vault);
    expect(done.moved).toBe(0);
    expect(done.conflicts.join('\n')).toMatch(/usb holds other bytes/);
    expect(done.left).toEqual([]);
    expect(await stagedObjects()).toEqual([staged]);
    const usb = vault.locations.find((l) => l.name === 'usb')!;
    const damage = await DamageRegister.load(vault.dir, vault.vaultId);
    expect(damage.has({ location: usb.id, path: PATHS.shard(object) })).toBe(true);
    expect((await listFiles(vault))[0]).toMatchObject({ health: 'degraded' });
    // The file still reads (the planted copy fails, the staged one is read).
    await getFile(vault, 'f', path.join(root, 'f.out'));

    // With the planted bytes gone, the copy moves home and the finding with it is no longer needed.
    await fs.rm(planted);
    expect((await completeStaged(vault)).moved).toBe(1);
    expect(await stagedObjects()).toEqual([]);
    expect((await DamageRegister.load(vault.dir, vault.vaultId)).size).toBe(0);
    expect((await listFiles(vault))[0]).toMatchObject({ health: 'healthy', survives: 1 });
  });

  it('a plain repair settles it: the bytes at home are rebuilt, then the staged copy goes', async () => {
    await fs.rename(folder('usb'), `${folder('usb')}.away`);
    await putFile(vault, [new Uint8Array(randomBytes(10_000))], 'g');
    await fs.rename(`${folder('usb')}.away`, folder('usb'));
    const [staged] = await stagedObjects();
    const object = path.basename(staged!).split('-')[1]!;
    const planted = path.join(folder('usb'), PATHS.shard(object));
    await fs.writeFile(planted, randomBytes((await fs.stat(staged!)).size));

    const report = await repair(vault, { deep: false });
    expect(report).toMatchObject({ ok: true, pending: [] });
    expect(report.files.find((f) => f.name === 'g')).toMatchObject({ rebuilt: 1, after: 'healthy' });
    expect(await stagedObjects()).toEqual([]);
    expect((await verify(vault, true)).ok).toBe(true);
    expect((await DamageRegister.load(vault.dir, vault.vaultId)).size).toBe(0);
    for (const f of await listFiles(vault)) expect(f).toMatchObject({ health: 'healthy', survives: 1 });
  });
});
