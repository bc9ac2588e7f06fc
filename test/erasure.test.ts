/**
 * The Reed-Solomon codec and its field, GF(2^8) mod 0x11d (docs/ERASURE.md).
 *
 * Known answers come from two places that share no code with src/core/erasure:
 * - test/golden/reed-solomon.json, written by scripts/gen-rs-golden.py, a naive Python
 *   implementation of the format (shift-and-add multiplication, textbook Gauss-Jordan);
 *   `python3 scripts/gen-rs-golden.py --check` confirms the file matches it;
 * - the 5+5 vector of Backblaze JavaReedSolomon's ReedSolomonTest.testOneEncode, whose
 *   matrix construction the format adopts.
 * The rest are field laws over every element, any-k-of-n reconstruction over every subset
 * for small codes, and fast-check properties. All of it runs on both coding loops ('simd',
 * WebAssembly, and 'js', the table loop), which are also crossed with each other on random
 * shapes, lengths and offsets.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { EXP, gfDiv, gfInv, gfMul, gfPow, LOG, matInvert, matMul, mulTable } from '../src/core/erasure/gf256';
import { ReedSolomon } from '../src/core/erasure/reed-solomon';
import { simdAvailable } from '../src/core/erasure/rs-simd';

// Every known answer and property runs on both coding loops. Node has WebAssembly SIMD
// (since 16.4), so a failure to load the module here is a bug, not a reason to skip.
const SIMD = simdAvailable();
const KERNELS = ['simd', 'js'] as const;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

/** Compares lists of pieces as hex: vitest's deep equality walks typed arrays slowly. */
function expectSame(actual: readonly Uint8Array[], expected: readonly Uint8Array[]): void {
  expect(actual.map(hex)).toEqual(expected.map(hex));
}

/** Shift-and-add multiplication, the definition the tables must agree with. */
function slowMul(a: number, b: number): number {
  let product = 0;
  while (b !== 0) {
    if (b & 1) product ^= a;
    b >>= 1;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
  }
  return product;
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 + 1 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

function pieces(count: number, length: number, seed: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => bytes(length, seed * 1000 + i));
}

/** Parity by the definition: shard j = row j · data, one byte and one coefficient at a time
 * (gfMul is checked against shift-and-add above). */
function slowParity(matrix: Uint8Array[], data: Uint8Array[]): Uint8Array[] {
  const length = data[0]!.length;
  return matrix.map((row) => {
    const out = new Uint8Array(length);
    for (let b = 0; b < length; b++) {
      let acc = 0;
      row.forEach((coef, c) => (acc ^= gfMul(coef, data[c]![b]!)));
      out[b] = acc;
    }
    return out;
  });
}

/** Every subset of 0..n-1, as the list of indices present. */
function subsets(n: number): number[][] {
  const out: number[][] = [];
  for (let mask = 0; mask < 1 << n; mask++) out.push([...Array(n).keys()].filter((i) => mask & (1 << i)));
  return out;
}

function withOnly(shards: readonly Uint8Array[], present: readonly number[]): (Uint8Array | null)[] {
  return shards.map((s, i) => (present.includes(i) ? s : null));
}

describe('GF(2^8)', () => {
  it('exp and log tables are inverse, and 2 generates all 255 nonzero elements', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 255; i++) {
      expect(LOG[EXP[i]!]).toBe(i);
      expect(EXP[i + 255]).toBe(EXP[i]);
      expect(EXP[i + 1]).toBe(slowMul(EXP[i]!, 2));
      seen.add(EXP[i]!);
    }
    expect(seen.size).toBe(255);
    expect(seen.has(0)).toBe(false);
  });

  it('multiplication matches shift-and-add for every pair and is commutative', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const p = slowMul(a, b);
        if (mulTable()[(a << 8) | b] !== p || gfMul(a, b) !== p || gfMul(b, a) !== p) {
          throw new Error(`${a} * ${b}: want ${p}, got ${mulTable()[(a << 8) | b]}`);
        }
      }
    }
  });

  it('is associative and distributive (every a, b; 16 values of c)', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        for (let c = 0; c < 256; c += 17) {
          if (gfMul(gfMul(a, b), c) !== gfMul(a, gfMul(b, c))) throw new Error(`assoc ${a} ${b} ${c}`);
          if (gfMul(a, b ^ c) !== (gfMul(a, b) ^ gfMul(a, c))) throw new Error(`distrib ${a} ${b} ${c}`);
        }
      }
    }
  });

  it('has identities, inverses and exact division', () => {
    for (let a = 0; a < 256; a++) {
      expect(gfMul(a, 1)).toBe(a);
      expect(gfMul(a, 0)).toBe(0);
      expect(a ^ a).toBe(0);
      if (a !== 0) expect(gfMul(a, gfInv(a))).toBe(1);
      for (let b = 1; b < 256; b++) {
        if (gfMul(gfDiv(a, b), b) !== a) throw new Error(`${a} / ${b}`);
      }
    }
    expect(gfInv(1)).toBe(1);
  });

  it('powers are repeated multiplication, with 0^0 = 1', () => {
    for (let a = 0; a < 256; a++) {
      let p = 1;
      for (let n = 0; n < 300; n++) {
        if (gfPow(a, n) !== p) throw new Error(`${a}^${n}`);
        p = gfMul(p, a);
      }
      if (a !== 0) expect(gfPow(a, 255)).toBe(1);
      expect(gfPow(a, Number.MAX_SAFE_INTEGER)).toBe(gfPow(a, Number.MAX_SAFE_INTEGER % 255));
    }
    expect(gfPow(0, 0)).toBe(1);
    expect(gfPow(0, 1)).toBe(0);
  });

  it('inverts matrices, and refuses singular ones', () => {
    const m = [Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5, 6), Uint8Array.of(7, 8, 10)];
    const inv = matInvert(m)!;
    expect(matMul(m, inv).map(hex)).toEqual(['010000', '000100', '000001']);
    expect(m.map(hex)).toEqual(['010203', '040506', '07080a']); // input untouched
    expect(matInvert([Uint8Array.of(1, 2), Uint8Array.of(2, 4)])).toBeNull();
    expect(matInvert([Uint8Array.of(0, 0), Uint8Array.of(1, 1)])).toBeNull();
  });

  it('guards its arguments', () => {
    expect(() => gfMul(256, 1)).toThrow(RangeError);
    expect(() => gfMul(1, -1)).toThrow(/b must be/);
    expect(() => gfMul(1.5, 1)).toThrow(TypeError);
    expect(() => gfMul('1' as unknown as number, 1)).toThrow(/a must be an integer/);
    expect(() => gfDiv(1, 0)).toThrow(RangeError);
    expect(() => gfInv(0)).toThrow(RangeError);
    expect(() => gfPow(2, -1)).toThrow(RangeError);
    expect(() => gfPow(2, 0.5)).toThrow(TypeError);
  });
});

interface GoldenVector {
  dataShards: number;
  totalShards: number;
  parityMatrix: string[];
  data: string[];
  parity: string[];
}
const golden = JSON.parse(readFileSync(new URL('./golden/reed-solomon.json', import.meta.url), 'utf8')) as {
  field: { polynomial: string; generator: number };
  vectors: GoldenVector[];
};

describe('coding matrix', () => {
  it('is V × inverse(top of V), with the identity on top (systematic)', () => {
    for (const [k, n] of [
      [1, 1],
      [1, 4],
      [3, 5],
      [10, 14],
      [17, 255],
      [255, 255],
    ] as const) {
      const v = Array.from({ length: n }, (_, r) => Uint8Array.from({ length: k }, (_, c) => gfPow(r, c)));
      const m = matMul(v, matInvert(v.slice(0, k))!);
      m.slice(0, k).forEach((row, r) => expect([...row]).toEqual([...Array(k).keys()].map((c) => +(c === r))));
      expect(new ReedSolomon(k, n).parityMatrix().map(hex)).toEqual(m.slice(k).map(hex));
    }
  });

  it('parityMatrix returns copies', () => {
    const rs = new ReedSolomon(3, 5);
    rs.parityMatrix()[0]!.fill(0);
    expect(rs.parityMatrix()[0]!.some((x) => x !== 0)).toBe(true);
  });
});

for (const kernel of KERNELS) {
  describe(`kernel '${kernel}'`, () => {
    describe('golden vectors (scripts/gen-rs-golden.py)', () => {
      it('pins the field', () => {
        expect(golden.field).toEqual({ polynomial: '0x11d', generator: 2 });
        expect(golden.vectors.length).toBeGreaterThanOrEqual(8);
      });

      for (const v of golden.vectors) {
        it(`${v.dataShards}+${v.totalShards - v.dataShards}: matrix and parity byte for byte, and back`, () => {
          const rs = new ReedSolomon(v.dataShards, v.totalShards, { kernel });
          expect(rs.parityMatrix().map(hex)).toEqual(v.parityMatrix);
          const data = v.data.map(unhex);
          expect(rs.encode(data).map(hex)).toEqual(v.parity);
          // Rebuild from the last k shards: as much parity as the code has.
          const all = [...data, ...v.parity.map(unhex)];
          const present = [...all.keys()].slice(v.totalShards - v.dataShards);
          expect(rs.reconstructData(withOnly(all, present)).map(hex)).toEqual(v.data);
        });
      }

      it('matches Backblaze JavaReedSolomon testOneEncode (5+5)', () => {
        const data = [
          [0, 1],
          [4, 5],
          [2, 3],
          [6, 7],
          [8, 9],
        ].map((d) => Uint8Array.from(d));
        const parity = new ReedSolomon(5, 10, { kernel }).encode(data).map((p) => [...p]);
        expect(parity).toEqual([
          [12, 13],
          [10, 11],
          [14, 15],
          [90, 91],
          [94, 95],
        ]);
      });
    });

    describe('encode', () => {
      it('matches the byte-at-a-time definition for every group size of the word loop', () => {
        for (let k = 1; k <= 9; k++) {
          const rs = new ReedSolomon(k, k + 3, { kernel });
          for (const length of [1, 3, 4, 5, 4099, 16384 * 4 + 7]) {
            const data = pieces(k, length, k * 31 + length);
            expectSame(rs.encode(data), slowParity(rs.parityMatrix(), data));
          }
        }
      });

      it('writes into the given parity pieces, whatever they held, and returns them', () => {
        const rs = new ReedSolomon(4, 6, { kernel });
        const data = pieces(4, 100, 1);
        const parity = [new Uint8Array(100).fill(0xaa), new Uint8Array(100).fill(0x55)];
        const copies = data.map((d) => d.slice());
        expect(rs.encode(data, parity)).toBe(parity);
        expectSame(parity, rs.encode(data));
        expectSame(data, copies);
      });

      it('gives the same parity for pieces at any byte offset', () => {
        const rs = new ReedSolomon(3, 5, { kernel });
        const data = pieces(3, 1001, 2);
        const expected = rs.encode(data);
        for (let shift = 1; shift < 4; shift++) {
          const shifted = data.map((d) => {
            const buffer = new Uint8Array(d.length + shift);
            buffer.set(d, shift);
            return buffer.subarray(shift);
          });
          const out = new Uint8Array(2016);
          const parity = [out.subarray(shift, shift + 1001), out.subarray(shift + 1002, shift + 2003)];
          rs.encode(shifted, parity);
          expectSame(parity, expected);
        }
      });

      it('handles empty pieces and codes without parity', () => {
        expect(new ReedSolomon(3, 5, { kernel }).encode(pieces(3, 0, 3))).toEqual([
          new Uint8Array(0),
          new Uint8Array(0),
        ]);
        expect(new ReedSolomon(2, 2, { kernel }).encode(pieces(2, 10, 3))).toEqual([]);
      });

      it('a 1 MiB segment round-trips through 10+4 with 4 shards lost', () => {
        const rs = new ReedSolomon(10, 14, { kernel });
        const data = pieces(10, 104_858, 4);
        const all = [...data, ...rs.encode(data)];
        const rebuilt = rs.reconstructAll(withOnly(all, [1, 2, 4, 5, 7, 8, 10, 11, 12, 13]));
        expectSame(rebuilt, all);
      });
    });

    describe('reconstruct', () => {
      for (const [k, n] of [
        [1, 1],
        [1, 3],
        [2, 3],
        [3, 5],
        [4, 6],
        [5, 10],
      ] as const) {
        it(`${k}+${n - k}: every subset of at least ${k} shards rebuilds everything`, () => {
          const rs = new ReedSolomon(k, n, { kernel });
          const data = pieces(k, 37, k * 100 + n);
          const all = [...data, ...rs.encode(data)];
          for (const present of subsets(n)) {
            const shards = withOnly(all, present);
            if (present.length < k) {
              expect(() => rs.reconstructData(shards)).toThrow(RangeError);
              expect(() => rs.reconstructAll(shards)).toThrow(RangeError);
              continue;
            }
            const got = rs.reconstructData(shards);
            expectSame(got, data);
            for (const i of present) if (i < k) expect(got[i]).toBe(all[i]); // present ones by reference
            const every = rs.reconstructAll(shards);
            expectSame(every, all);
            for (const i of present) expect(every[i]).toBe(all[i]);
            shards.forEach((s, i) => expect(s).toBe(present.includes(i) ? all[i] : null)); // input left as it was
          }
        });
      }

      it('10+4: random erasure patterns, repeated sets served from the decoder cache', () => {
        const rs = new ReedSolomon(10, 14, { kernel });
        const data = pieces(10, 4097, 5);
        const all = [...data, ...rs.encode(data)];
        const random = bytes(800, 6);
        for (let t = 0; t < 200; t++) {
          const lost = new Set([0, 1, 2, 3].map((j) => random[t * 4 + j]! % 14)); // 1 to 4 shards
          const present = [...all.keys()].filter((i) => !lost.has(i));
          const shards = withOnly(all, present);
          expectSame(rs.reconstructAll(shards), all);
          expectSame(rs.reconstructAll(shards), all); // second time from the cache
        }
      });

      it('fast-check: any erasure of at most n-k shards is undone', () => {
        fc.assert(
          fc.property(
            fc.record({ k: fc.integer({ min: 1, max: 12 }), m: fc.integer({ min: 0, max: 6 }) }).chain(({ k, m }) =>
              fc.record({
                k: fc.constant(k),
                n: fc.constant(k + m),
                data: fc.array(fc.uint8Array({ minLength: 0, maxLength: 64 }), { minLength: k, maxLength: k }),
                lost: fc.uniqueArray(fc.integer({ min: 0, max: k + m - 1 }), { maxLength: m }),
                length: fc.integer({ min: 0, max: 64 }),
              }),
            ),
            ({ k, n, data, lost, length }) => {
              const rs = new ReedSolomon(k, n, { kernel });
              const pieces = data.map((d) => {
                const p = new Uint8Array(length);
                p.set(d.subarray(0, length));
                return p;
              });
              const all = [...pieces, ...rs.encode(pieces)];
              const shards = all.map((s, i) => (lost.includes(i) ? null : s));
              expectSame(rs.reconstructData(shards), pieces);
              expectSame(rs.reconstructAll(shards), all);
            },
          ),
          { numRuns: 300 },
        );
      });

      it('fast-check: parity is linear (encode(a ^ b) = encode(a) ^ encode(b))', () => {
        const rs = new ReedSolomon(4, 7, { kernel });
        fc.assert(
          fc.property(
            fc.uint8Array({ minLength: 40, maxLength: 40 }),
            fc.uint8Array({ minLength: 40, maxLength: 40 }),
            (a, b) => {
              const split = (x: Uint8Array) => [0, 1, 2, 3].map((i) => x.slice(i * 10, i * 10 + 10));
              const sum = a.map((x, i) => x ^ b[i]!);
              const pa = rs.encode(split(a));
              const pb = rs.encode(split(b));
              expectSame(
                rs.encode(split(sum)),
                pa.map((p, j) => p.map((x, i) => x ^ pb[j]![i]!)),
              );
            },
          ),
          { numRuns: 100 },
        );
      });
    });
  });
}

describe("the two coding loops ('simd' against 'js')", () => {
  it('give the same bytes on random shapes, lengths and byte offsets, encoding and rebuilding', () => {
    fc.assert(
      fc.property(
        fc
          .record({
            k: fc.integer({ min: 1, max: 20 }),
            m: fc.integer({ min: 0, max: 8 }),
            // Short lengths cross the 32-byte steps of the SIMD loop, long ones its blocks.
            length: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 100, max: 70_000 })),
            inShift: fc.integer({ min: 0, max: 31 }),
            outShift: fc.integer({ min: 0, max: 31 }),
            seed: fc.integer({ min: 1, max: 2 ** 30 }),
          })
          .chain((shape) =>
            fc.record({
              shape: fc.constant(shape),
              lost: fc.uniqueArray(fc.integer({ min: 0, max: shape.k + shape.m - 1 }), { maxLength: shape.m }),
            }),
          ),
        ({ shape: { k, m, length, inShift, outShift, seed }, lost }) => {
          const simd = new ReedSolomon(k, k + m, { kernel: 'simd' });
          const js = new ReedSolomon(k, k + m, { kernel: 'js' });
          // Pieces cut from one buffer, as the vault cuts a segment; parity into views too.
          const segment = bytes(inShift + k * length, seed);
          const data = Array.from({ length: k }, (_, i) =>
            segment.subarray(inShift + i * length, inShift + (i + 1) * length),
          );
          const out = new Uint8Array(outShift + m * (length + 1)).fill(0xa5);
          const parity = Array.from({ length: m }, (_, j) =>
            out.subarray(outShift + j * (length + 1), outShift + j * (length + 1) + length),
          );
          const want = js.encode(data);
          expectSame(simd.encode(data, parity), want);
          if (length <= 100) expectSame(want, slowParity(js.parityMatrix(), data));
          // The byte between two parity views is left alone.
          for (let j = 1; j < m; j++) expect(out[outShift + j * (length + 1) - 1]).toBe(0xa5);
          const all = [...data, ...want];
          const shards = all.map((s, i) => (lost.includes(i) ? null : s));
          expectSame(simd.reconstructAll(shards), all);
          expectSame(js.reconstructAll(shards), all);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('agree on the largest code (128+127), whose blocks need more module memory', () => {
    const data = pieces(128, 5000, 9);
    const simd = new ReedSolomon(128, 255, { kernel: 'simd' });
    const parity = simd.encode(data);
    expectSame(parity, new ReedSolomon(128, 255, { kernel: 'js' }).encode(data));
    const all = [...data, ...parity];
    const lost = new Set([...Array(127).keys()].map((i) => i * 2)); // every even shard: 127 lost
    expectSame(simd.reconstructAll(all.map((s, i) => (lost.has(i) ? null : s))), all);
  });
});

describe('the kernel option', () => {
  it("'auto' takes SIMD, which Node has; 'js' and 'simd' are taken as asked", () => {
    expect(SIMD).toBe(true);
    expect(new ReedSolomon(3, 5).kernel).toBe('simd');
    expect(new ReedSolomon(3, 5, { kernel: 'auto' }).kernel).toBe('simd');
    expect(new ReedSolomon(3, 5, { kernel: 'js' }).kernel).toBe('js');
    expect(new ReedSolomon(3, 5, { kernel: 'simd' }).kernel).toBe('simd');
  });

  const v = golden.vectors.find((x) => x.dataShards === 3 && x.totalShards === 5)!;
  for (const [name, stub] of [
    ['WebAssembly without SIMD (validate refuses the module)', { validate: () => false }],
    ['no WebAssembly at all', undefined],
    [
      'compiling refused (as under a Content-Security-Policy)',
      {
        validate: () => true,
        Module: function () {
          throw new EvalError('WebAssembly compilation is not allowed here');
        },
      },
    ],
  ] as const) {
    it(`${name}: 'auto' falls back to the table loop, same bytes; 'simd' is refused`, async () => {
      vi.resetModules();
      vi.stubGlobal('WebAssembly', stub);
      try {
        // A fresh copy of the modules, which look at the runtime as they load.
        const fresh = await import('../src/core/erasure/reed-solomon');
        const rs = new fresh.ReedSolomon(3, 5);
        expect(rs.kernel).toBe('js');
        expect(rs.encode(v.data.map(unhex)).map(hex)).toEqual(v.parity);
        expect(() => new fresh.ReedSolomon(3, 5, { kernel: 'simd' })).toThrow(/no WebAssembly SIMD/);
      } finally {
        vi.unstubAllGlobals();
        vi.resetModules();
      }
    });
  }

  it('rs-simd-wasm.ts is what scripts/gen-rs-wasm.mjs assembles from rs-simd.wat', () => {
    const script = fileURLToPath(new URL('../scripts/gen-rs-wasm.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

describe('argument guards', () => {
  it('constructor', () => {
    expect(() => new ReedSolomon(0, 1)).toThrow(/dataShards must be between 1 and 255/);
    expect(() => new ReedSolomon(256, 256)).toThrow(RangeError);
    expect(() => new ReedSolomon(3, 2)).toThrow(/totalShards must be between 3 and 255/);
    expect(() => new ReedSolomon(1, 256)).toThrow(RangeError);
    expect(() => new ReedSolomon(1.5, 3)).toThrow(TypeError);
    expect(() => new ReedSolomon('3' as unknown as number, 5)).toThrow(/dataShards must be an integer/);
    expect(() => new ReedSolomon(3, NaN)).toThrow(/totalShards must be an integer/);
    expect(new ReedSolomon(255, 255).totalShards).toBe(255);
    expect(new ReedSolomon(1, 255).parityShards).toBe(254);
    expect(() => new ReedSolomon(3, 5, { kernel: 'gpu' as 'js' })).toThrow(
      /options.kernel must be one of auto, simd, js/,
    );
    expect(() => new ReedSolomon(3, 5, null as unknown as object)).toThrow(/options must be an object/);
  });

  it('encode', () => {
    const rs = new ReedSolomon(2, 4);
    const ok = pieces(2, 8, 7);
    expect(() => rs.encode('ab' as unknown as Uint8Array[])).toThrow(/data must be an array/);
    expect(() => rs.encode([ok[0]!])).toThrow(/data must hold 2 pieces, got 1/);
    expect(() => rs.encode([ok[0]!, [1, 2] as unknown as Uint8Array])).toThrow(/data\[1\] must be a Uint8Array/);
    expect(() => rs.encode([ok[0]!, new Uint8Array(7)])).toThrow(RangeError);
    expect(() => rs.encode(ok, [new Uint8Array(8)])).toThrow(/parity must hold 2 pieces/);
    expect(() => rs.encode(ok, {} as unknown as Uint8Array[])).toThrow(TypeError);
    expect(() => rs.encode(ok, [new Uint8Array(8), null as unknown as Uint8Array])).toThrow(
      /parity\[1\] must be a Uint8Array/,
    );
    expect(() => rs.encode(ok, [new Uint8Array(8), new Uint8Array(9)])).toThrow(/parity\[1\] must be 8 bytes/);
    expect(() => rs.encode(ok, [new Uint8Array(8), ok[1]!.subarray(0)])).toThrow(/parity\[1\] overlaps data\[1\]/);
    const shared = new Uint8Array(12);
    expect(() => rs.encode(ok, [shared.subarray(0, 8), shared.subarray(4, 12)])).toThrow(
      /parity\[1\] overlaps parity\[0\]/,
    );
  });

  it('reconstructData and reconstructAll', () => {
    const rs = new ReedSolomon(2, 4);
    const all = [...pieces(2, 8, 8), new Uint8Array(8), new Uint8Array(8)];
    for (const fn of [rs.reconstructData.bind(rs), rs.reconstructAll.bind(rs)]) {
      expect(() => fn(null as unknown as Uint8Array[])).toThrow(/shards must be an array/);
      expect(() => fn(all.slice(0, 3))).toThrow(/shards must hold 4 pieces, got 3/);
      expect(() => fn([all[0]!, undefined as unknown as null, all[2]!, all[3]!])).toThrow(
        /shards\[1\] must be a Uint8Array or null/,
      );
      expect(() => fn([all[0]!, null, null, null])).toThrow(/at least 2 pieces/);
      expect(() => fn([all[0]!, null, new Uint8Array(9), null])).toThrow(/shards\[2\] is 9 bytes/);
    }
  });
});
