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
 * Encoding and rebuilding are both a matrix times the pieces, done by one of two coding loops
 * (kernels) that give the same bytes: WebAssembly SIMD (rs-simd.ts) where the runtime has it,
 * else the table loop in plain TypeScript (rs-table.ts).
 */
import { type GfMatrix, gfPow, matInvert, matMul } from './gf256';
import { codeRowsSimd, simdAvailable } from './rs-simd';
import { codeRowsTable } from './rs-table';

/** Shard indices are bytes of the field, so a code has at most 255 shards. */
export const MAX_SHARDS = 255;

/**
 * The coding loop: 'simd' (WebAssembly SIMD), 'js' (the table loop), or 'auto', which is
 * 'simd' when the runtime validates the SIMD module and 'js' otherwise.
 */
export type RsKernel = 'auto' | 'simd' | 'js';
const KERNELS: readonly RsKernel[] = ['auto', 'simd', 'js'];

export interface ReedSolomonOptions {
  /** Default 'auto'. 'simd' throws where WebAssembly SIMD is missing. */
  readonly kernel?: RsKernel;
}

/** outputs[r] = rows[r] · inputs over the first `length` bytes (the contract of both loops). */
type CodeRows = (
  rows: readonly Uint8Array[],
  inputs: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
  length: number,
) => void;

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
  readonly #codeRows: CodeRows;
  /** The coding loop in use: 'auto' resolved. */
  readonly kernel: 'simd' | 'js';

  constructor(
    readonly dataShards: number,
    readonly totalShards: number,
    options: ReedSolomonOptions = {},
  ) {
    auint(dataShards, 'dataShards', 1, MAX_SHARDS);
    auint(totalShards, 'totalShards', dataShards, MAX_SHARDS);
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const wanted: unknown = options.kernel ?? 'auto';
    if (!KERNELS.includes(wanted as RsKernel)) {
      throw new RangeError(`options.kernel must be one of ${KERNELS.join(', ')}, got ${String(wanted)}`);
    }
    if (wanted === 'simd' && !simdAvailable()) {
      throw new RangeError("options.kernel is 'simd' but this runtime has no WebAssembly SIMD");
    }
    this.kernel = wanted === 'js' || !simdAvailable() ? 'js' : 'simd';
    this.#codeRows = this.kernel === 'simd' ? codeRowsSimd : codeRowsTable;
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
    this.#codeRows(this.#matrix.slice(k), data, parity, length);
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
      this.#codeRows(
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
