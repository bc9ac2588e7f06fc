/**
 * Systematic Reed-Solomon erasure code over GF(2^8), pinned as part of the on-disk format
 * (spec and measured speeds: docs/ERASURE.md).
 *
 * For k data and n total shards the coding matrix is M = V × inverse(V[0..k-1]), where V is
 * the n × k Vandermonde matrix V[r][c] = r^c (0^0 = 1). Its top k rows are the identity, so
 * shards 0..k-1 are the data pieces; any k rows are independent, so any k shards rebuild the
 * rest. This is the default matrix of Backblaze JavaReedSolomon and klauspost/reedsolomon;
 * their shards and ours are byte for byte the same.
 *
 * The coding loop works on 32-bit words: each word of an input is split into its four bytes,
 * each byte looked up in the 256-byte row of the 64 KiB multiplication table that belongs to
 * the coefficient, and up to four inputs are folded into an output per pass (coefficients
 * of 1 are plain XOR). Pieces are walked in blocks so that the inputs stay in cache while
 * every output is computed.
 */
import { type GfMatrix, gfPow, matInvert, matMul, MUL } from './gf256';

/** Shard indices are bytes of the field, so a code has at most 255 shards. */
export const MAX_SHARDS = 255;

/** Words (of 4 bytes) of each piece handled per pass: 16 KiB per piece. */
const BLOCK_WORDS = 4096;

/** Decode matrices kept per set of present shards; a whole file decodes with one set. */
const DECODER_CACHE = 8;

function auint(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`${name} must be an integer`);
  if (value < min || value > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${value}`);
}

function aarray(value: unknown, name: string, length: number): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array`);
  if (value.length !== length) throw new RangeError(`${name} must hold ${length} pieces, got ${value.length}`);
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.buffer === b.buffer &&
    a.length > 0 &&
    b.length > 0 &&
    a.byteOffset < b.byteOffset + b.length &&
    b.byteOffset < a.byteOffset + a.length
  );
}

/** The n × k systematic coding matrix of the format. */
function codingMatrix(k: number, n: number): GfMatrix {
  const vandermonde: GfMatrix = [];
  for (let r = 0; r < n; r++) {
    const row = new Uint8Array(k);
    for (let c = 0; c < k; c++) row[c] = gfPow(r, c);
    vandermonde.push(row);
  }
  // The top k rows are a Vandermonde matrix on distinct points 0..k-1, never singular.
  return matMul(vandermonde, matInvert(vandermonde.slice(0, k))!);
}

interface Decoder {
  /** The k present shards the decoder reads, ascending. */
  readonly sources: readonly number[];
  /** Maps the source shards back to the data pieces. */
  readonly inverse: GfMatrix;
  /** Per rebuilt shard, its coefficients over the sources (filled on first use). */
  readonly rows: Map<number, Uint8Array>;
}

export class ReedSolomon {
  readonly #matrix: GfMatrix;
  readonly #decoders = new Map<string, Decoder>();

  constructor(
    readonly dataShards: number,
    readonly totalShards: number,
  ) {
    auint(dataShards, 'dataShards', 1, MAX_SHARDS);
    auint(totalShards, 'totalShards', dataShards, MAX_SHARDS);
    this.#matrix = codingMatrix(dataShards, totalShards);
  }

  get parityShards(): number {
    return this.totalShards - this.dataShards;
  }

  /** The parity rows of the coding matrix (n-k rows of k bytes), for docs/tests. Copies. */
  parityMatrix(): Uint8Array[] {
    return this.#matrix.slice(this.dataShards).map((row) => row.slice());
  }

  /**
   * data: k pieces of equal length L. Writes the n-k parity pieces of length L into `parity`
   * (allocated if omitted) and returns them. Parity pieces must not overlap the data or each
   * other.
   */
  encode(data: readonly Uint8Array[], parity?: Uint8Array[]): Uint8Array[] {
    const k = this.dataShards;
    const m = this.parityShards;
    aarray(data, 'data', k);
    const length = pieceLength(data, 'data');
    if (parity === undefined) {
      parity = Array.from({ length: m }, () => new Uint8Array(length));
    } else {
      aarray(parity, 'parity', m);
      for (let i = 0; i < m; i++) {
        const piece: unknown = parity[i];
        if (!(piece instanceof Uint8Array)) throw new TypeError(`parity[${i}] must be a Uint8Array`);
        if (piece.length !== length) {
          throw new RangeError(`parity[${i}] must be ${length} bytes like the data, got ${piece.length}`);
        }
        for (let j = 0; j < k; j++) {
          if (overlaps(piece, data[j]!)) throw new RangeError(`parity[${i}] overlaps data[${j}]`);
        }
        for (let j = 0; j < i; j++) {
          if (overlaps(piece, parity[j]!)) throw new RangeError(`parity[${i}] overlaps parity[${j}]`);
        }
      }
    }
    codeRows(this.#matrix.slice(k), data, parity, length);
    return parity;
  }

  /**
   * shards: n entries, each a piece of length L or null (missing); at least k present.
   * Returns the k data pieces: the present ones by reference, the missing ones rebuilt into
   * new arrays. Throws RangeError if fewer than k are present or the lengths differ.
   */
  reconstructData(shards: readonly (Uint8Array | null)[]): Uint8Array[] {
    return this.#reconstruct(shards, this.dataShards);
  }

  /**
   * Like reconstructData, for every shard: returns a new array of the n pieces, the present
   * ones by reference and the missing ones (data and parity) rebuilt. `shards` is not changed.
   */
  reconstructAll(shards: readonly (Uint8Array | null)[]): Uint8Array[] {
    return this.#reconstruct(shards, this.totalShards);
  }

  /** Rebuilds the missing shards among the first `upTo` and returns those `upTo` pieces. */
  #reconstruct(shards: readonly (Uint8Array | null)[], upTo: number): Uint8Array[] {
    const k = this.dataShards;
    const n = this.totalShards;
    aarray(shards, 'shards', n);
    const present: number[] = [];
    let length = -1;
    for (let i = 0; i < n; i++) {
      const piece: unknown = shards[i];
      if (piece === null) continue;
      if (!(piece instanceof Uint8Array)) throw new TypeError(`shards[${i}] must be a Uint8Array or null`);
      if (length === -1) length = piece.length;
      else if (piece.length !== length) {
        throw new RangeError(`shards[${i}] is ${piece.length} bytes, the shards before it ${length}`);
      }
      present.push(i);
    }
    if (present.length < k) {
      throw new RangeError(`shards must hold at least ${k} pieces to rebuild from, got ${present.length}`);
    }

    const out = shards.slice(0, upTo);
    const missing: number[] = [];
    for (let i = 0; i < upTo; i++) if (out[i] === null) missing.push(i);
    if (missing.length > 0) {
      const decoder = this.#decoder(present.slice(0, k));
      const inputs = decoder.sources.map((i) => shards[i]!);
      const outputs = missing.map(() => new Uint8Array(length));
      codeRows(
        missing.map((j) => this.#decodeRow(decoder, j)),
        inputs,
        outputs,
        length,
      );
      missing.forEach((j, i) => (out[j] = outputs[i]!));
    }
    return out as Uint8Array[];
  }

  #decoder(sources: number[]): Decoder {
    const key = sources.join(',');
    const cached = this.#decoders.get(key);
    if (cached !== undefined) {
      this.#decoders.delete(key); // most recently used goes last
      this.#decoders.set(key, cached);
      return cached;
    }
    const k = this.dataShards;
    // With every data shard present the sources are 0..k-1 and the inverse is the identity.
    const inverse =
      sources[k - 1] === k - 1 ? this.#matrix.slice(0, k) : matInvert(sources.map((i) => this.#matrix[i]!))!; // any k rows are independent
    const decoder: Decoder = { sources, inverse, rows: new Map() };
    this.#decoders.set(key, decoder);
    if (this.#decoders.size > DECODER_CACHE) this.#decoders.delete(this.#decoders.keys().next().value!);
    return decoder;
  }

  /** Coefficients that rebuild shard j from the decoder's sources: row j of M × inverse. */
  #decodeRow(decoder: Decoder, j: number): Uint8Array {
    let row = decoder.rows.get(j);
    if (row === undefined) {
      row = j < this.dataShards ? decoder.inverse[j]! : matMul([this.#matrix[j]!], decoder.inverse)[0]!;
      decoder.rows.set(j, row);
    }
    return row;
  }
}

/** Checks that `pieces` are Uint8Arrays of one length and returns it. */
function pieceLength(pieces: readonly unknown[], name: string): number {
  let length = -1;
  pieces.forEach((piece, i) => {
    if (!(piece instanceof Uint8Array)) throw new TypeError(`${name}[${i}] must be a Uint8Array`);
    if (length === -1) length = piece.length;
    else if (piece.length !== length) {
      throw new RangeError(`${name}[${i}] is ${piece.length} bytes, ${name}[0] ${length}`);
    }
  });
  return length;
}

// ---- The coding loop ----------------------------------------------------------------------

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
function codeRows(
  rows: readonly Uint8Array[],
  inputs: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
  length: number,
): void {
  if (length === 0 || rows.length === 0) return;
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
