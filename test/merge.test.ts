// Merging the heads of devices that committed at the same moment (src/core/vault/merge.ts):
// a join, so every reader sees the same vault whatever order it read the heads in, and no
// committed change is lost to a concurrent write.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FileRef, Head } from '../src/core/format/head';
import { mergeHeads } from '../src/core/vault/merge';

const policy = { data: 3, total: 5, threshold: 3, replicas: 1, segmentSize: 1 << 20 };

function head(over: Partial<Head>): Head {
  return {
    vaultId: 'v',
    counter: 1,
    generation: 1,
    policy,
    locations: [],
    files: [],
    tombstones: [],
    logPublicKey: new Uint8Array(32),
    logPrivateKey: new Uint8Array(32),
    recoveryKey: new Uint8Array(32),
    logAnchors: [],
    updated: '2026-12-01T00:00:00.000Z',
    dealId: null,
    kdf: null,
    ...over,
  };
}

function file(id: string, name: string, created = '2026-12-01T00:00:00.000Z', version = 1): FileRef {
  return { id, version, name, size: 10, sha256: '00'.repeat(32), created };
}

const names = (h: Head): string[] => h.files.map((f) => f.name).sort();

describe('mergeHeads', () => {
  it('keeps what each of two devices added on top of the same head', () => {
    const base = [file('a', 'a.txt')];
    const fromA = head({
      counter: 5,
      files: [...base, file('b', 'b.txt')],
      logAnchors: [{ device: 'A', seq: 3, hash: 'x' }],
    });
    const fromB = head({
      counter: 5,
      files: [...base, file('c', 'c.txt')],
      logAnchors: [{ device: 'B', seq: 7, hash: 'y' }],
    });
    const { head: merged, shadowed } = mergeHeads([fromA, fromB]);
    expect(names(merged)).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(merged.counter).toBe(5);
    expect(merged.logAnchors.map((a) => `${a.device}${a.seq}`).sort()).toEqual(['A3', 'B7']);
    expect(shadowed).toEqual([]);
  });

  it('a removal or a replaced version stays removed, whatever the other head still names', () => {
    const old = file('a', 'a.txt');
    const removed = head({ counter: 6, tombstones: [{ id: 'a', version: 1 }] });
    const stale = head({ counter: 6, files: [old, file('b', 'b.txt')] });
    expect(names(mergeHeads([removed, stale]).head)).toEqual(['b.txt']);
    const resharded = head({
      counter: 7,
      files: [file('a', 'a.txt', old.created, 2)],
      tombstones: [{ id: 'a', version: 1 }],
    });
    const merged = mergeHeads([stale, resharded]).head;
    expect(merged.files.filter((f) => f.name === 'a.txt').map((f) => f.version)).toEqual([2]);
  });

  it('two files stored under one name at once: the later wins, the other is reported', () => {
    const early = file('e', 'same.txt', '2026-12-01T10:00:00.000Z');
    const late = file('l', 'same.txt', '2026-12-01T10:00:01.000Z');
    for (const order of [
      [head({ files: [early] }), head({ files: [late] })],
      [head({ files: [late] }), head({ files: [early] })],
    ]) {
      const { head: merged, shadowed } = mergeHeads(order);
      expect(merged.files).toEqual([late]);
      expect(shadowed).toEqual([early]);
    }
  });

  it('one file moved by two devices at once keeps one name: the higher version', () => {
    const before = file('f', 'draft.txt', '2026-12-01T10:00:00.000Z', 1);
    const movedA = { ...before, name: 'a/draft.txt', version: 7 };
    const movedB = { ...before, name: 'b/draft.txt', version: 4 };
    const a = head({ counter: 3, files: [movedA], tombstones: [{ id: 'f', version: 1 }] });
    const b = head({ counter: 3, files: [movedB], tombstones: [{ id: 'f', version: 1 }] });
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const { head: merged, shadowed } = mergeHeads(order);
      expect(merged.files).toEqual([movedA]);
      expect(shadowed).toEqual([movedB]);
      expect(merged.tombstones).toContainEqual({ id: 'f', version: 4 });
      // Merged again with either device's head, the loser stays out.
      expect(mergeHeads([merged, b]).head.files).toEqual([movedA]);
    }
    // The same version under two names (both chose it): every reader keeps the greater name.
    const twinA = { ...before, name: 'x.txt', version: 2 };
    const twinB = { ...before, name: 'y.txt', version: 2 };
    for (const order of [
      [head({ files: [twinA] }), head({ files: [twinB] })],
      [head({ files: [twinB] }), head({ files: [twinA] })],
    ]) {
      const { head: merged, shadowed } = mergeHeads(order);
      expect(merged.files).toEqual([twinB]);
      expect(shadowed).toEqual([]);
      expect(merged.tombstones).not.toContainEqual({ id: 'f', version: 2 });
    }
  });

  it('a file that lost its name only to a version left out for another name is kept', () => {
    // Three devices at once: one stores `b` (file b); one moves file a to `b` and wins that
    // name (a is newer); one moves a to `c` at a higher version, which wins a's one name.
    // Once a's version at `b` is left out, nothing holds `b` against file b any more.
    const b = file('b', 'b', '2026-12-01T09:00:00.000Z', 1);
    const aAtB = file('a', 'b', '2026-12-01T10:00:00.000Z', 5);
    const aAtC = { ...aAtB, name: 'c', version: 9 };
    const hb = head({ counter: 3, files: [b] });
    const ha1 = head({ counter: 3, files: [aAtB], tombstones: [{ id: 'a', version: 1 }] });
    const ha2 = head({ counter: 3, files: [aAtC], tombstones: [{ id: 'a', version: 1 }] });
    for (const order of [
      [hb, ha1, ha2],
      [ha2, ha1, hb],
      [ha1, hb, ha2],
    ]) {
      const { head: merged, shadowed } = mergeHeads(order);
      expect(names(merged)).toEqual(['b', 'c']);
      expect(merged.files.find((f) => f.name === 'b')?.id).toBe('b');
      expect(shadowed).toEqual([aAtB]);
      expect(merged.tombstones).not.toContainEqual({ id: 'b', version: 1 });
    }
    // And when a's higher version lost its own name, a keeps the lower one (as before).
    const cFile = file('c', 'c', '2026-12-01T11:00:00.000Z', 1);
    const { head: merged } = mergeHeads([ha1, ha2, head({ files: [cFile] }), hb]);
    expect(merged.files.map((f) => `${f.name}=${f.id}`).sort()).toEqual(['b=a', 'c=c']);
  });

  it('locations, policy and keys come from the newest generation', () => {
    const redealt = head({
      counter: 4,
      generation: 2,
      locations: [{ id: 'n', name: 'new', kind: 'local', display: '/n' }],
    });
    const later = head({ counter: 9, generation: 1, files: [file('x', 'x')] });
    const merged = mergeHeads([later, redealt]).head;
    expect(merged.generation).toBe(2);
    expect(merged.locations.map((l) => l.name)).toEqual(['new']);
    expect(merged.counter).toBe(9);
    expect(names(merged)).toEqual(['x']);
  });

  it('refuses nothing to merge', () => {
    expect(() => mergeHeads([])).toThrow(RangeError);
  });

  // Heads as devices make them: files added and removed at random on a shared history.
  // `clash` names files n % 4, so that different files share a name (two devices storing one
  // name at once); otherwise each file has its own name.
  const arbitraryHead = (clash: boolean): fc.Arbitrary<Head> =>
    fc
      .record({
        counter: fc.integer({ min: 1, max: 9 }),
        adds: fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { maxLength: 6 }),
        removes: fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { maxLength: 4 }),
        second: fc.integer({ min: 0, max: 59 }),
      })
      .map(({ counter, adds, removes, second }) =>
        head({
          counter,
          updated: `2026-12-01T00:00:${String(second).padStart(2, '0')}.000Z`,
          files: adds
            .filter((n) => !removes.includes(n))
            .map((n) => file(`f${n}`, `name${clash ? n % 4 : n}`, `2026-12-01T0${n % 10}:00:00.000Z`)),
          tombstones: removes.map((n) => ({ id: `f${n}`, version: 1 })),
        }),
      );

  const m = (...hs: Head[]): Head => mergeHeads(hs).head;
  /** The vault a head describes, as a comparable string: files and tombstones as sets, and the counter. */
  const vaultOf = (h: Head): string => {
    const byId = (p: { id: string }, q: { id: string }): number => p.id.localeCompare(q.id);
    const dead = [...new Map(h.tombstones.map((t) => [`${t.id}:${t.version}`, t])).values()].sort(byId);
    return JSON.stringify([[...h.files].sort(byId), dead, h.counter]);
  };

  it('every reader of the same heads sees the same vault, in any order, and merging a head with itself changes nothing', () => {
    fc.assert(
      fc.property(fc.array(arbitraryHead(true), { minLength: 1, maxLength: 4 }), fc.nat(), (heads, seed) => {
        const shuffled = [...heads].sort(
          (x, y) => ((vaultOf(x).length * 31 + seed) % 7) - ((vaultOf(y).length * 17 + seed) % 5),
        );
        expect(JSON.stringify(m(...shuffled))).toBe(JSON.stringify(m(...heads)));
        expect(vaultOf(m(...heads, ...heads))).toBe(vaultOf(m(...heads)));
        // Nothing tombstoned is listed; every listed file came from some head; one file per name.
        const merged = m(...heads);
        const dead = new Set(merged.tombstones.map((t) => t.id));
        expect(merged.files.some((f) => dead.has(f.id))).toBe(false);
        expect(new Set(merged.files.map((f) => f.name)).size).toBe(merged.files.length);
        for (const f of merged.files) expect(heads.some((h) => h.files.some((g) => g.id === f.id))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('without name clashes, merging in steps equals merging at once (a join)', () => {
    fc.assert(
      fc.property(arbitraryHead(false), arbitraryHead(false), arbitraryHead(false), (a, b, c) => {
        expect(vaultOf(m(m(a, b), c))).toBe(vaultOf(m(a, m(b, c))));
        expect(vaultOf(m(a, b, c))).toBe(vaultOf(m(c, m(b, a))));
        // A file some head added and no head removed is listed.
        for (const h of [a, b, c]) {
          for (const f of h.files) {
            const removed = [a, b, c].some((x) => x.tombstones.some((t) => t.id === f.id));
            expect(m(a, b, c).files.some((g) => g.id === f.id)).toBe(!removed);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
