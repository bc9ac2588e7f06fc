/**
 * The prime-order group ristretto255 (RFC 9496) and its scalars, through @noble/curves (audited,
 * the sibling of the @noble/hashes and @noble/ciphers the design names). Every point that comes
 * from outside is decoded strictly (RFC 9496 section 4.3.1 refuses non-canonical and negative
 * encodings), and the identity is refused wherever a public key, a share's image or a file's
 * point is read: a zero there would let a liar cancel a term or learn nothing-for-something.
 * Scalars are little-endian, canonical (below the group order L), 32 bytes.
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import type { IField } from '@noble/curves/abstract/modular.js';
import { createHash, randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { engineConfig } from '../config';
import { CorruptError } from '../errors';
import { abytes, concat, u32be, utf8 } from '../crypto/bytes';

/** The operations the guard uses of noble's ristretto255 point (its class type is not exported). */
export interface Point {
  add(other: Point): Point;
  negate(): Point;
  multiply(scalar: bigint): Point;
  multiplyUnsafe(scalar: bigint): Point;
  equals(other: Point): boolean;
  is0(): boolean;
  toBytes(): Uint8Array;
}
export type Scalar = bigint;

const RPoint = ristretto255.Point as unknown as {
  readonly BASE: Point;
  readonly ZERO: Point;
  fromBytes(bytes: Uint8Array): Point;
};
const Fn: IField<bigint> = ristretto255.Point.Fn;

export const POINT_BYTES = 32;
export const SCALAR_BYTES = 32;
/** The group order L = 2^252 + 27742317777372353535851937790883648493. */
export const ORDER: bigint = Fn.ORDER;
/** The canonical generator (RFC 9496 section 4.4). */
export const BASE: Point = RPoint.BASE;
export const IDENTITY: Point = RPoint.ZERO;

export const scalarAdd = (a: Scalar, b: Scalar): Scalar => Fn.add(a, b);
export const scalarSub = (a: Scalar, b: Scalar): Scalar => Fn.sub(a, b);
export const scalarMul = (a: Scalar, b: Scalar): Scalar => Fn.mul(a, b);
export const scalarInv = (a: Scalar): Scalar => Fn.inv(a);

/** k·P, with 0·P the identity (noble's constant-time multiply refuses 0). */
export function mul(point: Point, k: Scalar): Point {
  const s = Fn.create(k);
  return s === 0n ? IDENTITY : point.multiply(s);
}

/** k·B for the generator B. */
export function mulBase(k: Scalar): Point {
  return mul(BASE, k);
}

/**
 * Σ k_i·P_i over public values (variable time: never for a secret scalar), with one shared
 * doubling chain (noble's Straus-Shamir `mulAddUnsafe`, width-4 wNAF). It builds no table for
 * the generator: noble's cached one costs a fresh process about 35 ms to make, more than a
 * whole proof check without it.
 */
export function sumOfProducts(points: readonly Point[], scalars: readonly Scalar[]): Point {
  if (points.length !== scalars.length) throw new RangeError('sumOfProducts: as many scalars as points');
  return mulAddUnsafe(
    ristretto255.Point as unknown as Parameters<typeof mulAddUnsafe>[0],
    points as unknown as Parameters<typeof mulAddUnsafe>[1],
    scalars.map((k) => Fn.create(k)),
  );
}

/**
 * Runs synchronous curve arithmetic with V8's optimizing compiler (TurboFan) held off, then
 * turns it back on (`v8.setFlagsFromString`, read by V8 each time it picks a function to
 * optimize). A fresh process checks only a few proofs: TurboFan, finding noble's field and
 * wNAF functions hot during the first, spends about 70 ms of CPU compiling them in the
 * background over the next three, and the first two checks cost 31 + 27 ms of CPU where
 * interpreted ones cost 20 + 13 (a fresh process, load 12 to 20). Code already optimized stays
 * optimized; a long-lived process whose curve code runs only in here checks at the
 * interpreter's pace, about 7 ms against 5. `work` must be synchronous, so no other code runs
 * while the compiler is held off. A process started with a flag of its own about the
 * compilers (--jitless, --no-opt, ...) is left as it is (`mayHoldOffOptimizer`).
 */
export function interpreted<T>(work: () => T): T {
  if (heldOff || !mayHoldOffOptimizer()) return work();
  heldOff = true;
  setFlagsFromString('--no-opt');
  try {
    return work();
  } finally {
    setFlagsFromString('--opt');
    heldOff = false;
  }
}

let heldOff = false;

/**
 * False when the process was started with a flag about V8's compilers (in its arguments, or
 * in the NODE_OPTIONS its front end passed to `configureEngine`: src/core reads no environment
 * itself), and in Electron (the desktop app's engine is long-lived: it pays the cold checks
 * once, and its V8 is not the one this was measured on): `interpreted` then changes none.
 */
export function mayHoldOffOptimizer(): boolean {
  return (
    process.versions['electron'] === undefined &&
    ![...process.execArgv, ...(engineConfig().env['NODE_OPTIONS'] ?? '').split(/\s+/)].some((arg) =>
      /^--(no-)?(opt|turbofan|maglev|sparkplug|jitless|always-opt|always-turbofan|max-opt)\b/.test(
        arg.replace(/_/g, '-'),
      ),
    )
  );
}

/**
 * The encoding of each point this process decoded or encoded (points are immutable). Decoding
 * is strict, so a decoded point's encoding is the bytes it came from; a proof check hashes
 * its inputs' encodings again and needs no inverse square root for them (each costs about
 * as much as a quarter of a scalar multiplication).
 */
const encodings = new WeakMap<Point, Uint8Array>();

/** enc(point), 32 bytes: the caller's own copy (it may wipe it). */
export function encodePoint(point: Point): Uint8Array {
  let bytes = encodings.get(point);
  if (bytes === undefined) {
    bytes = point.toBytes();
    encodings.set(point, bytes);
  }
  return bytes.slice();
}

/**
 * Strict decoding (RFC 9496 section 4.3.1): a wrong length, a non-canonical or negative field
 * element or a non-square ratio throws CorruptError naming `what`; so does the identity unless
 * `allowIdentity` (only the RFC's own vectors need it).
 */
export function decodePoint(bytes: unknown, what: string, allowIdentity = false): Point {
  abytes(bytes, what);
  if (bytes.length !== POINT_BYTES) throw new CorruptError(`${what} is not a 32-byte group element`);
  let point: Point;
  try {
    point = RPoint.fromBytes(bytes);
  } catch {
    throw new CorruptError(`${what} is not a valid ristretto255 encoding`);
  }
  if (!allowIdentity && point.is0()) throw new CorruptError(`${what} is the identity element`);
  encodings.set(point, bytes.slice());
  return point;
}

export function encodeScalar(k: Scalar): Uint8Array {
  return Fn.toBytes(Fn.create(k));
}

/** A canonical little-endian scalar below L; anything else throws CorruptError naming `what`. */
export function decodeScalar(bytes: unknown, what: string): Scalar {
  abytes(bytes, what);
  if (bytes.length !== SCALAR_BYTES) throw new CorruptError(`${what} is not a 32-byte scalar`);
  let k = 0n;
  for (let i = SCALAR_BYTES - 1; i >= 0; i--) k = (k << 8n) | BigInt(bytes[i]!);
  if (k >= ORDER) throw new CorruptError(`${what} is not a canonical scalar`);
  return k;
}

/** A uniformly random nonzero scalar: 64 random bytes reduced mod L (bias below 2^-250). */
export function randomScalar(): Scalar {
  for (;;) {
    const wide = randomBytes(64);
    let k = 0n;
    for (let i = 63; i >= 0; i--) k = (k << 8n) | BigInt(wide[i]!);
    wide.fill(0);
    k %= ORDER;
    if (k !== 0n) return k;
  }
}

/** SHA-512 (node:crypto: native, where noble's is JavaScript a fresh process runs cold). */
export function sha512(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha512');
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

/**
 * HashToScalar of RFC 9497 section 4.1 for ristretto255-SHA512: expand_message_xmd (RFC 9380
 * section 5.3.1) with SHA-512 to 64 bytes, read little-endian, reduced mod L. For 64 bytes
 * from a 64-byte hash, ell = 1: b_0 = H(Z_pad ‖ msg ‖ I2OSP(64, 2) ‖ 0x00 ‖ DST'),
 * uniform = b_1 = H(b_0 ‖ 0x01 ‖ DST'), DST' = DST ‖ I2OSP(len(DST), 1). The known-answer
 * tests pin it (RFC 9497's proofs byte for byte) and cross it with noble's.
 */
export function hashToScalar(message: Uint8Array, dst: Uint8Array): Scalar {
  abytes(message, 'message');
  abytes(dst, 'dst');
  if (dst.length > 255) throw new RangeError('dst: at most 255 bytes (RFC 9380 section 5.3.3 is not needed here)');
  const dstPrime = concat(dst, Uint8Array.of(dst.length));
  const b0 = sha512(new Uint8Array(128), message, Uint8Array.of(0, 64, 0), dstPrime);
  const uniform = sha512(b0, Uint8Array.of(1), dstPrime);
  return BigInt(`0x${Buffer.from(uniform.reverse()).toString('hex')}`) % ORDER;
}

/** RFC 9496 section 4.3.4: the element derived from 64 uniform bytes (used by the KATs). */
export function elementFromUniformBytes(bytes: Uint8Array): Point {
  abytes(bytes, 'uniform bytes', 64);
  return ristretto255_hasher.deriveToCurve!(bytes);
}

/** f(x) = Σ a_k·x^k mod L, by Horner's rule. */
export function evalPolynomial(coefficients: readonly Scalar[], x: number): Scalar {
  const xs = BigInt(x);
  let acc = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) acc = Fn.add(Fn.mul(acc, xs), coefficients[k]!);
  return acc;
}

/** Σ C_k·x^k: the image f(x)·B of a polynomial known only by its Feldman commitments C_k = a_k·B. */
export function evalCommitments(commitments: readonly Point[], x: number): Point {
  if (!Number.isSafeInteger(x) || x < 1) throw new RangeError('x must be a positive integer');
  const powers: Scalar[] = [];
  let power = 1n;
  for (let k = 0; k < commitments.length; k++) {
    powers.push(power);
    power = Fn.mul(power, BigInt(x));
  }
  return sumOfProducts(commitments, powers);
}

/**
 * The Lagrange coefficient of `index` for interpolating at 0 over the distinct nonzero
 * `indices`: λ_i = Π_{j≠i} j / (j − i). Throws on a repeated or zero index.
 */
export function lagrangeAtZero(indices: readonly number[], index: number): Scalar {
  if (new Set(indices).size !== indices.length) throw new RangeError('indices must be distinct');
  if (!indices.includes(index)) throw new RangeError(`index ${index} is not among the indices`);
  let num = 1n;
  let den = 1n;
  for (const j of indices) {
    if (j <= 0) throw new RangeError('indices must be positive');
    if (j === index) continue;
    num = Fn.mul(num, BigInt(j));
    den = Fn.mul(den, Fn.sub(BigInt(j), BigInt(index)));
  }
  return Fn.mul(num, Fn.inv(den));
}

/**
 * Length-framed concatenation for hashing: each part is its 4-byte big-endian length then
 * its bytes (a string as UTF-8, a number as 4 bytes big-endian), so no two different lists
 * of parts frame to the same bytes.
 */
export function frame(...parts: readonly (Uint8Array | string | number)[]): Uint8Array {
  const out: Uint8Array[] = [];
  for (const part of parts) {
    const bytes = typeof part === 'string' ? utf8(part) : typeof part === 'number' ? u32be(part) : part;
    out.push(u32be(bytes.length), bytes);
  }
  return concat(...out);
}
