/**
 * The Reed-Solomon coding loop in WebAssembly SIMD: split-nibble multiplication with
 * `i8x16.swizzle`, the method of ISA-L and klauspost/reedsolomon (rs-simd.wat says how). Same
 * matrix, same bytes as the table loop (rs-table.ts), several times faster.
 *
 * The module is small (under 1 KiB) and compiled synchronously the first time a codec asks
 * for it, once per thread (a worker has its own). It works in its own memory: the pieces go
 * through it a block at a time (the inputs' block copied in, the outputs' block computed
 * there and copied out), so any Uint8Array works whatever its buffer or offset, and the
 * memory stays under 600 KiB even for 255 pieces. During a put the blocks are plaintext:
 * they are zeroed before each call returns (JavaScript promises nothing about copies the
 * engine itself makes).
 */
import { mulTable } from './gf256';
import { RS_SIMD_WASM } from './rs-simd-wasm';

/** The part of the WebAssembly API used here (the engine is typed without DOM lib). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** rs-simd.wat's `code`: out[r] = Σ_i coefs[r·inputs + i] · in[i], for len bytes (a multiple of 32). */
type Code = (rows: number, inputs: number, coefs: number, src: number, dst: number, len: number) => void;

const WASM: WasmApi | undefined = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
const MODULE_BYTES = new Uint8Array(Buffer.from(RS_SIMD_WASM, 'base64'));

const PAGE = 65536;
/** Where the module expects the 256 pairs of nibble tables. */
const TABLES = 0;
/** Where the coefficients of a call go: up to 255 × 255 bytes. */
const COEFS = 8192;
/** Where the input blocks go, followed by the output blocks; 16-byte aligned. */
const DATA = COEFS + 65536;
/** The kernel works on whole 32-byte steps: a short last block is padded to one. */
const STEP = 32;
/** Bytes of each piece per block, so that one block of every input and output stays in L2. */
const BLOCK_BUDGET = 192 * 1024;
const MIN_BLOCK = 2048;
const MAX_BLOCK = 16384;

interface Kernel {
  readonly memory: WasmMemory;
  readonly code: Code;
  heap: Uint8Array;
}

/** The loaded module, null where it can't be had, undefined until first asked. */
let kernel: Kernel | null | undefined;

function load(): Kernel | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  // validate() answers whether the runtime knows the SIMD instructions; compiling can still
  // be refused (a Content-Security-Policy without 'wasm-unsafe-eval'), and then the table
  // loop is the answer too.
  if (WASM === undefined || !WASM.validate(MODULE_BYTES)) return null;
  let exports: Record<string, unknown>;
  try {
    exports = new WASM.Instance(new WASM.Module(MODULE_BYTES), {}).exports;
  } catch {
    return null;
  }
  const memory = exports.memory as WasmMemory;
  const heap = new Uint8Array(memory.buffer);
  const MUL = mulTable();
  for (let c = 0; c < 256; c++) {
    for (let x = 0; x < 16; x++) {
      heap[TABLES + c * 32 + x] = MUL[(c << 8) | x]!;
      heap[TABLES + c * 32 + 16 + x] = MUL[(c << 8) | (x << 4)]!;
    }
  }
  kernel = { memory, code: exports.code as Code, heap };
  return kernel;
}

/** Whether this runtime runs the SIMD module (it validates and compiles). */
export function simdAvailable(): boolean {
  return load() !== null;
}

/** Grows the module's memory to at least `bytes` (a grow detaches the old view). */
function reserve(wasm: Kernel, bytes: number): void {
  const have = wasm.memory.buffer.byteLength;
  if (bytes <= have) return;
  wasm.memory.grow(Math.ceil((bytes - have) / PAGE));
  wasm.heap = new Uint8Array(wasm.memory.buffer);
}

/** Block length per piece for `pieces` pieces in flight: a multiple of STEP. */
function blockLength(pieces: number): number {
  const fit = Math.floor(BLOCK_BUDGET / pieces / STEP) * STEP;
  return Math.min(MAX_BLOCK, Math.max(MIN_BLOCK, fit));
}

/**
 * outputs[r] = rows[r] · inputs, byte-wise, over the first `length` bytes: the contract of
 * rs-table.ts's codeRowsTable. Every row has inputs.length coefficients.
 */
export function codeRowsSimd(
  rows: readonly Uint8Array[],
  inputs: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
  length: number,
): void {
  if (length === 0 || rows.length === 0) return;
  const wasm = load();
  if (wasm === null) throw new Error('WebAssembly SIMD is not available in this runtime');
  const count = inputs.length;
  const block = blockLength(count + rows.length);
  reserve(wasm, DATA + (count + rows.length) * block);
  const heap = wasm.heap;
  rows.forEach((row, r) => heap.set(row, COEFS + r * count));
  try {
    for (let start = 0; start < length; start += block) {
      const len = Math.min(block, length - start);
      const stride = Math.ceil(len / STEP) * STEP;
      const dst = DATA + count * stride;
      for (let i = 0; i < count; i++) heap.set(inputs[i]!.subarray(start, start + len), DATA + i * stride);
      wasm.code(rows.length, count, COEFS, DATA, dst, stride);
      for (let r = 0; r < rows.length; r++) {
        outputs[r]!.set(heap.subarray(dst + r * stride, dst + r * stride + len), start);
      }
    }
  } finally {
    heap.fill(0, DATA, DATA + (count + rows.length) * block);
  }
}
