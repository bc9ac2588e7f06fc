/**
 * Chaum-Pedersen proof that two discrete logarithms are equal, exactly as RFC 9497 section 2.2
 * builds it (GenerateProof with ComputeCompositesFast, VerifyProof with ComputeComposites), for
 * the ciphersuite ristretto255-SHA512: given B = k·G, and D_i = k·C_i, a proof (c, s) that the
 * same k links every pair. The context string is the RFC's contextString: the RFC's own
 * ("OPRFV1-" ‖ 0x01 ‖ "-ristretto255-SHA512") for its known-answer tests, GUARD_CONTEXT in use.
 *
 * A node proves with it that its partial decryption Z_i = s_i·R used the share s_i behind its
 * public share P_i = s_i·G (B = P_i, C = [R], D = [Z_i]); the app checks each proof before
 * combining, so a node that answers with anything else is caught and named.
 */
import { CorruptError } from '../errors';
import { abytes, concat, utf8 } from '../crypto/bytes';
import {
  BASE,
  decodeScalar,
  encodePoint,
  encodeScalar,
  hashToScalar,
  mul,
  randomScalar,
  scalarMul,
  scalarSub,
  sha512,
  sumOfProducts,
  SCALAR_BYTES,
  type Point,
  type Scalar,
} from './group';

/** The context string of Shardvault's proofs (RFC 9497's contextString slot). */
export const GUARD_CONTEXT = utf8('Shardvault-guard-v1');
export const PROOF_BYTES = 2 * SCALAR_BYTES;

/** I2OSP(len, 2) ‖ bytes for each byte string, I2OSP(n, 2) for a number, ASCII for a label. */
function encode(...parts: readonly (Uint8Array | number | string)[]): Uint8Array {
  const out: Uint8Array[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(Uint8Array.of(part >> 8, part & 0xff));
    else if (typeof part === 'string') out.push(utf8(part));
    else {
      if (part.length > 0xffff) throw new RangeError('an encoded part is longer than 65535 bytes');
      out.push(Uint8Array.of(part.length >> 8, part.length & 0xff), part);
    }
  }
  return concat(...out);
}

function weights(context: Uint8Array, B: Point, C: readonly Point[], D: readonly Point[]): Scalar[] {
  if (C.length !== D.length || C.length === 0 || C.length > 0xffff) {
    throw new RangeError('C and D must be non-empty lists of equal length');
  }
  const dst = concat(utf8('HashToScalar-'), context);
  const seed = sha512(encode(encodePoint(B), concat(utf8('Seed-'), context)));
  return C.map((Ci, i) => hashToScalar(encode(seed, i, encodePoint(Ci), encodePoint(D[i]!), 'Composite'), dst));
}

function challenge(context: Uint8Array, B: Point, M: Point, Z: Point, t2: Point, t3: Point): Scalar {
  const dst = concat(utf8('HashToScalar-'), context);
  return hashToScalar(encode(...[B, M, Z, t2, t3].map(encodePoint), 'Challenge'), dst);
}

/**
 * Proves k = log_G(B) = log_{C_i}(D_i) for every i. `nonce` is the proof's random scalar r;
 * only the known-answer tests pass one.
 */
export function generateProof(
  context: Uint8Array,
  k: Scalar,
  B: Point,
  C: readonly Point[],
  D: readonly Point[],
  nonce: Scalar = randomScalar(),
): Uint8Array {
  const d = weights(context, B, C, D);
  const M = sumOfProducts(C, d);
  // Z = k·M = Σ d_i·D_i: the same point from public values (variable time is safe there),
  // about half the cost of the constant-time multiplication by the secret k (RFC 9497's
  // ComputeComposites, which the verifier uses; ComputeCompositesFast computes k·M).
  const Z = sumOfProducts(D, d);
  const t2 = mul(BASE, nonce);
  const t3 = mul(M, nonce);
  const c = challenge(context, B, M, Z, t2, t3);
  const s = scalarSub(nonce, scalarMul(c, k));
  return concat(encodeScalar(c), encodeScalar(s));
}

/** True only for a proof that B, C, D satisfy the relation; a malformed proof is false. */
export function verifyProof(
  context: Uint8Array,
  B: Point,
  C: readonly Point[],
  D: readonly Point[],
  proof: Uint8Array,
): boolean {
  abytes(proof, 'proof');
  if (proof.length !== PROOF_BYTES) return false;
  let c: Scalar;
  let s: Scalar;
  try {
    c = decodeScalar(proof.subarray(0, SCALAR_BYTES), 'proof challenge');
    s = decodeScalar(proof.subarray(SCALAR_BYTES), 'proof response');
  } catch (error) {
    if (error instanceof CorruptError) return false;
    throw error;
  }
  const d = weights(context, B, C, D);
  const M = sumOfProducts(C, d);
  const Z = sumOfProducts(D, d);
  const t2 = sumOfProducts([BASE, B], [s, c]);
  const t3 = sumOfProducts([M, Z], [s, c]);
  return challenge(context, B, M, Z, t2, t3) === c;
}
