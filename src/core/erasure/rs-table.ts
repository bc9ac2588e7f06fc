/**
 * The table loop: the Reed-Solomon coding loop in plain TypeScript, the fallback wherever
 * WebAssembly SIMD is missing (rs-simd.ts is the fast one; both give the same bytes).
 *
 * It works on 32-bit words: each word of an input is split into its four bytes, each byte
 * looked up in the 256-byte row of the 64 KiB multiplication table that belongs to the
 * coefficient, and up to four inputs are folded into an output per pass (coefficients of 1
 * are plain XOR). Pieces are walked in blocks so that the inputs stay in cache while every
 * output is computed.
 */
import { mulTable } from './gf256';

/** Words (of 4 bytes) of each piece handled per pass: 16 KiB per piece. */
const BLOCK_WORDS = 4096;

/** A view of the whole 4-byte words of an aligned piece. */
function words(piece: Uint8Array, count: number): Uint32Array {
  return new Uint32Array(piece.buffer, piece.byteOffset, count);
}

function aligned(piece: Uint8Array): boolean {
  return (piece.byteOffset & 3) === 0;
}

/**
 * outputs[r] = rows[r] · inputs, byte-wise, over the first `length` bytes. Inputs that do not
 * start on a 4-byte boundary are copied once (and unaligned outputs written through a copy)
 * so that the loop always runs on words.
 */
export function codeRowsTable(
  rows: readonly Uint8Array[],
  inputs: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
  length: number,
): void {
  if (length === 0 || rows.length === 0) return;
  const MUL = mulTable();
  const ins = inputs.map((piece) => (aligned(piece) ? piece : piece.slice(0, length)));
  const outs = outputs.map((piece) => (aligned(piece) ? piece : new Uint8Array(length)));
  const count = length >>> 2;

  const inWords = ins.map((piece) => words(piece, count));
  const plans = rows.map((row) => planRow(row, inWords));
  const outWords = outs.map((piece) => words(piece, count));
  for (let start = 0; start < count; start += BLOCK_WORDS) {
    const end = Math.min(count, start + BLOCK_WORDS);
    for (let r = 0; r < rows.length; r++) foldWords(outWords[r]!, start, end, plans[r]!);
  }

  // The last length % 4 bytes, one at a time.
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const out = outs[r]!;
    for (let b = count << 2; b < length; b++) {
      let acc = 0;
      for (let i = 0; i < row.length; i++) acc ^= MUL[(row[i]! << 8) | ins[i]![b]!]!;
      out[b] = acc;
    }
  }

  outputs.forEach((piece, r) => {
    if (outs[r] !== piece) piece.set(outs[r]!);
  });
}

/** One output's terms: inputs taken as they are (coefficient 1) and inputs to multiply. */
interface RowPlan {
  readonly plain: Uint32Array[];
  /** Coefficients as offsets of their rows in MUL (coef << 8). */
  readonly coefs: number[];
  readonly scaled: Uint32Array[];
}

function planRow(row: Uint8Array, inputs: readonly Uint32Array[]): RowPlan {
  const plan: RowPlan = { plain: [], coefs: [], scaled: [] };
  row.forEach((coef, i) => {
    if (coef === 1) plan.plain.push(inputs[i]!);
    else if (coef !== 0) {
      plan.coefs.push(coef << 8);
      plan.scaled.push(inputs[i]!);
    }
  });
  return plan;
}

/**
 * out[start..end) = Σ terms of the plan: plain inputs by XOR, the others four per pass
 * through the table. The first pass writes, so the output is never cleared beforehand.
 */
function foldWords(out: Uint32Array, start: number, end: number, plan: RowPlan): void {
  const { plain, coefs, scaled: inputs } = plan;
  const MUL = mulTable();
  let write = true;
  for (const input of plain) {
    (write ? copyPlain : xorPlain)(out, start, end, input);
    write = false;
  }
  const count = coefs.length;
  if (write && count === 0) out.fill(0, start, end);
  let i = 0;
  while (i < count) {
    const left = count - i;
    if (left >= 4) {
      (write ? set4 : xor4)(
        out,
        start,
        end,
        MUL,
        coefs[i]!,
        inputs[i]!,
        coefs[i + 1]!,
        inputs[i + 1]!,
        coefs[i + 2]!,
        inputs[i + 2]!,
        coefs[i + 3]!,
        inputs[i + 3]!,
      );
      i += 4;
    } else if (left === 3) {
      (write ? set3 : xor3)(
        out,
        start,
        end,
        MUL,
        coefs[i]!,
        inputs[i]!,
        coefs[i + 1]!,
        inputs[i + 1]!,
        coefs[i + 2]!,
        inputs[i + 2]!,
      );
      i += 3;
    } else if (left === 2) {
      (write ? set2 : xor2)(out, start, end, MUL, coefs[i]!, inputs[i]!, coefs[i + 1]!, inputs[i + 1]!);
      i += 2;
    } else {
      (write ? set1 : xor1)(out, start, end, MUL, coefs[i]!, inputs[i]!);
      i += 1;
    }
    write = false;
  }
}

function copyPlain(o: Uint32Array, s: number, e: number, d0: Uint32Array): void {
  for (let i = s; i < e; i++) o[i] = d0[i]!;
}

function xorPlain(o: Uint32Array, s: number, e: number, d0: Uint32Array): void {
  for (let i = s; i < e; i++) o[i]! ^= d0[i]!;
}

/*
 * The kernels. Each byte lane of a word is multiplied on its own and put back in the same
 * lane, so the result does not depend on the platform's byte order. `t` is MUL, passed in so
 * that the loop reads a local; `c*` are coefficient rows (coef << 8), `d*` inputs.
 * Eight near-identical loops on purpose: V8 keeps each one small, monomorphic and free of
 * branches, which is where the speed comes from.
 */

function set1(o: Uint32Array, s: number, e: number, t: Uint8Array, c0: number, d0: Uint32Array): void {
  for (let i = s; i < e; i++) {
    const a = d0[i]!;
    o[i] =
      t[c0 | (a & 255)]! |
      (t[c0 | ((a >>> 8) & 255)]! << 8) |
      (t[c0 | ((a >>> 16) & 255)]! << 16) |
      (t[c0 | (a >>> 24)]! << 24);
  }
}

function xor1(o: Uint32Array, s: number, e: number, t: Uint8Array, c0: number, d0: Uint32Array): void {
  for (let i = s; i < e; i++) {
    const a = d0[i]!;
    o[i]! ^=
      t[c0 | (a & 255)]! |
      (t[c0 | ((a >>> 8) & 255)]! << 8) |
      (t[c0 | ((a >>> 16) & 255)]! << 16) |
      (t[c0 | (a >>> 24)]! << 24);
  }
}

function set2(
  o: Uint32Array,
  s: number,
  e: number,
  t: Uint8Array,
  c0: number,
  d0: Uint32Array,
  c1: number,
  d1: Uint32Array,
): void {
  for (let i = s; i < e; i++) {
    const a = d0[i]!;
    const b = d1[i]!;
    o[i] =
      (t[c0 | (a & 255)]! ^ t[c1 | (b & 255)]!) |
      ((t[c0 | ((a >>> 8) & 255)]! ^ t[c1 | ((b >>> 8) & 255)]!) << 8) |
      ((t[c0 | ((a >>> 16) & 255)]! ^ t[c1 | ((b >>> 16) & 255)]!) << 16) |
      ((t[c0 | (a >>> 24)]! ^ t[c1 | (b >>> 24)]!) << 24);
  }
}

function xor2(
  o: Uint32Array,
  s: number,
  e: number,
  t: Uint8Array,
  c0: number,
  d0: Uint32Array,
  c1: number,
  d1: Uint32Array,
): void {
  for (let i = s; i < e; i++) {
    const a = d0[i]!;
    const b = d1[i]!;
    o[i]! ^=
      (t[c0 | (a & 255)]! ^ t[c1 | (b & 255)]!) |
      ((t[c0 | ((a >>> 8) & 255)]! ^ t[c1 | ((b >>> 8) & 255)]!) << 8) |
      ((t[c0 | ((a >>> 16) & 255)]! ^ t[c1 | ((b >>> 16) & 255)]!) << 16) |
      ((t[c0 | (a >>> 24)]! ^ t[c1 | (b >>> 24)]!) << 24);
  }
}

function set3(
  o: Uint32Array,
  s: number,
  e: number,
  t: Uint8Array,
  c0: number,
  d0: Uint32Array,
  c1: number,
  d1: Uint32Array,
  c2: number,
  d2: Uint32Array,
): void {
  for (let i = s; i < e; i++) {
    const a = d0[i]!;
    const b = d1[i]!;
    const c = d2[i]!;
    o[i] =
      (t[c0 | (a & 255)]! ^ t[c1 | (b & 255)]! ^ t[c2 | (c & 255)]!) |
      ((t[c0 | ((a >>> 8) & 255)]! ^ t[c1 | ((b >>> 8) & 255)]! ^ t[c2 | ((c >>> 8) & 255)]!) << 8) |
      ((t[c0 | ((a >>> 16) & 255)]! ^ t[c1 | ((b >>> 16) & 255)]! ^ t[c2 | ((c >>> 16) & 255)]!) << 16) |
      ((t[c0 | (a >>> 24)]! ^ t[c1 | (b >>> 24)]! ^ t[c2 | (c >>> 24)]!) << 24);
  }
}

function xor3(
  o: Uint32Array,
  s: number,
  e: number,
  t: Uint8Array,
  c0: number,
  d0: Uint32Array,
  c1: number,
  d1: Uint32Array,
  c2: number,
  d2: Uint32Array,
): void {
  for (let i = s; i < e; i++) {
    const a = d0[i]!;
    const b = d1[i]!;
    const c = d2[i]!;
    o[i]! ^=
      (t[c0 | (a & 255)]! ^ t[c1 | (b & 255)]! ^ t[c2 | (c & 255)]!) |
      ((t[c0 | ((a >>> 8) & 255)]! ^ t[c1 | ((b >>> 8) & 255)]! ^ t[c2 | ((c >>> 8) & 255)]!) << 8) |
      ((t[c0 | ((a >>> 16) & 255)]! ^ t[c1 | ((b >>> 16) & 255)]! ^ t[c2 | ((c >>> 16) & 255)]!) << 16) |
      ((t[c0 | (a >>> 24)]! ^ t[c1 | (b >>> 24)]! ^ t[c2 | (c >>> 24)]!) << 24);
  }
}

function set4(
  o: Uint32Array,
  s: number,
  e: number,
  t: Uint8Array,
  c0: number,
  d0: Uint32Array,
  c1: number,
  d1: Uint32Array,
  c2: number,
  d2: Uint32Array,
  c3: number,
  d3: Uint32Array,
): void {
  for (let i = s; i < e; i++) {
    const a = d0[i]!;
    const b = d1[i]!;
    const c = d2[i]!;
    const d = d3[i]!;
    o[i] =
      (t[c0 | (a & 255)]! ^ t[c1 | (b & 255)]! ^ t[c2 | (c & 255)]! ^ t[c3 | (d & 255)]!) |
      ((t[c0 | ((a >>> 8) & 255)]! ^
        t[c1 | ((b >>> 8) & 255)]! ^
        t[c2 | ((c >>> 8) & 255)]! ^
        t[c3 | ((d >>> 8) & 255)]!) <<
        8) |
      ((t[c0 | ((a >>> 16) & 255)]! ^
        t[c1 | ((b >>> 16) & 255)]! ^
        t[c2 | ((c >>> 16) & 255)]! ^
        t[c3 | ((d >>> 16) & 255)]!) <<
        16) |
      ((t[c0 | (a >>> 24)]! ^ t[c1 | (b >>> 24)]! ^ t[c2 | (c >>> 24)]! ^ t[c3 | (d >>> 24)]!) << 24);
  }
}

function xor4(
  o: Uint32Array,
  s: number,
  e: number,
  t: Uint8Array,
  c0: number,
  d0: Uint32Array,
  c1: number,
  d1: Uint32Array,
  c2: number,
  d2: Uint32Array,
  c3: number,
  d3: Uint32Array,
): void {
  for (let i = s; i < e; i++) {
    const a = d0[i]!;
    const b = d1[i]!;
    const c = d2[i]!;
    const d = d3[i]!;
    o[i]! ^=
      (t[c0 | (a & 255)]! ^ t[c1 | (b & 255)]! ^ t[c2 | (c & 255)]! ^ t[c3 | (d & 255)]!) |
      ((t[c0 | ((a >>> 8) & 255)]! ^
        t[c1 | ((b >>> 8) & 255)]! ^
        t[c2 | ((c >>> 8) & 255)]! ^
        t[c3 | ((d >>> 8) & 255)]!) <<
        8) |
      ((t[c0 | ((a >>> 16) & 255)]! ^
        t[c1 | ((b >>> 16) & 255)]! ^
        t[c2 | ((c >>> 16) & 255)]! ^
        t[c3 | ((d >>> 16) & 255)]!) <<
        16) |
      ((t[c0 | (a >>> 24)]! ^ t[c1 | (b >>> 24)]! ^ t[c2 | (c >>> 24)]! ^ t[c3 | (d >>> 24)]!) << 24);
  }
}
