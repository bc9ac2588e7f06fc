/**
 * Arithmetic in GF(2^8), the field of the Reed-Solomon codec (docs/ERASURE.md).
 *
 * Pinned as part of the on-disk format: reducing polynomial x^8 + x^4 + x^3 + x^2 + 1
 * (0x11d), generator 2 for the exp/log tables. Addition and subtraction are XOR. These are
 * the field and tables of Backblaze JavaReedSolomon (`Galois.java`) and klauspost/reedsolomon.
 *
 * The tables below are shared by every codec and must never be written to.
 */

/** The reducing polynomial, with its x^8 bit. */
export const POLYNOMIAL = 0x11d;

/** EXP[i] = 2^i for 0 <= i < 510 (doubled, so EXP[LOG[a] + LOG[b]] needs no modulo). */
export const EXP = new Uint8Array(510);

/** LOG[a] = i with 2^i = a, for a != 0. LOG[0] is 0 and meaningless. */
export const LOG = new Uint8Array(256);

{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    EXP[i + 255] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= POLYNOMIAL;
  }
}

let mul: Uint8Array | null = null;

/**
 * MUL[(a << 8) | b] = a * b: one 256-byte row per coefficient a, 64 KiB in all. Made on
 * first use, not when the module loads (its loop cost a few ms at start): a command that
 * codes nothing (ls, status, a get that has its data shards) never makes it.
 */
export function mulTable(): Uint8Array {
  if (mul === null) {
    mul = new Uint8Array(65536);
    for (let a = 1; a < 256; a++) {
      const la = LOG[a]!;
      for (let b = 1; b < 256; b++) mul[(a << 8) | b] = EXP[la + LOG[b]!]!;
    }
  }
  return mul;
}

function abyte(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer`);
  if (value < 0 || value > 255) throw new RangeError(`${name} must be between 0 and 255, got ${value}`);
}

export function gfMul(a: number, b: number): number {
  abyte(a, 'a');
  abyte(b, 'b');
  return mulTable()[(a << 8) | b]!;
}

export function gfDiv(a: number, b: number): number {
  abyte(a, 'a');
  abyte(b, 'b');
  if (b === 0) throw new RangeError('b must not be 0 (division by zero in GF(2^8))');
  return a === 0 ? 0 : EXP[LOG[a]! + 255 - LOG[b]!]!;
}

export function gfInv(a: number): number {
  return gfDiv(1, a);
}

/** a^n for n >= 0, with 0^0 = 1 and 0^n = 0 for n > 0 (the convention of the coding matrix). */
export function gfPow(a: number, n: number): number {
  abyte(a, 'a');
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new TypeError('n must be an integer');
  if (n < 0) throw new RangeError(`n must not be negative, got ${n}`);
  if (n === 0) return 1;
  if (a === 0) return 0;
  return EXP[(LOG[a]! * (n % 255)) % 255]!;
}

/** A matrix over GF(2^8): one Uint8Array per row, all of the same length. */
export type GfMatrix = Uint8Array[];

/** a × b. The caller guarantees the shapes agree (a's columns = b's rows). */
export function matMul(a: readonly Uint8Array[], b: readonly Uint8Array[]): GfMatrix {
  const MUL = mulTable();
  const inner = b.length;
  const cols = inner === 0 ? 0 : b[0]!.length;
  return a.map((row) => {
    const out = new Uint8Array(cols);
    for (let i = 0; i < inner; i++) {
      const coef = row[i]!;
      if (coef === 0) continue;
      const bi = b[i]!;
      const base = coef << 8;
      for (let j = 0; j < cols; j++) out[j]! ^= MUL[base | bi[j]!]!;
    }
    return out;
  });
}

/**
 * The inverse of a square matrix by Gauss-Jordan elimination, or null if it is singular.
 * The input is left untouched.
 */
export function matInvert(m: readonly Uint8Array[]): GfMatrix | null {
  const MUL = mulTable();
  const size = m.length;
  const work = m.map((row) => Uint8Array.from(row));
  const inv = m.map((_, r) => {
    const row = new Uint8Array(size);
    row[r] = 1;
    return row;
  });
  for (let col = 0; col < size; col++) {
    let pivot = col;
    while (pivot < size && work[pivot]![col] === 0) pivot++;
    if (pivot === size) return null;
    if (pivot !== col) {
      [work[col], work[pivot]] = [work[pivot]!, work[col]!];
      [inv[col], inv[pivot]] = [inv[pivot]!, inv[col]!];
    }
    const wc = work[col]!;
    const ic = inv[col]!;
    const scale = EXP[255 - LOG[wc[col]!]!]! << 8; // 1 / pivot
    for (let j = 0; j < size; j++) {
      wc[j] = MUL[scale | wc[j]!]!;
      ic[j] = MUL[scale | ic[j]!]!;
    }
    for (let r = 0; r < size; r++) {
      if (r === col) continue;
      const wr = work[r]!;
      const factor = wr[col]!;
      if (factor === 0) continue;
      const ir = inv[r]!;
      const base = factor << 8;
      for (let j = 0; j < size; j++) {
        wr[j]! ^= MUL[base | wc[j]!]!;
        ir[j]! ^= MUL[base | ic[j]!]!;
      }
    }
  }
  return inv;
}
