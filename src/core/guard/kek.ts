/**
 * A guarded file's key-encryption key. At put the device draws r, publishes R = r·B in the
 * manifest and derives the KEK from r·P (P the group key); r is then wiped. To open, G nodes
 * each return Z_i = s_i·R with a proof (dleq.ts), and Lagrange interpolation in the exponent
 * gives Σ λ_i·Z_i = s·R = r·P: the same KEK, without any party ever holding s.
 *
 *   KEK = HKDF-SHA256(ikm = enc(r·P), salt = vaultId (16 bytes),
 *                     info = "shardvault/v1/guard" ‖ fileId (16) ‖ u32be(version) ‖ enc(R) ‖ enc(P) ‖ u32be(epoch))
 */
import { concat, fromHex, u32be, utf8, wipe } from '../crypto/bytes';
import { hkdf } from '../crypto/kdf';
import {
  decodePoint,
  encodePoint,
  lagrangeAtZero,
  mul,
  mulBase,
  randomScalar,
  sumOfProducts,
  type Point,
} from './group';

export interface GuardedFileRef {
  readonly vaultId: string;
  readonly fileId: string;
  readonly version: number;
  /** enc(R), 32 bytes. */
  readonly point: Uint8Array;
}

export interface GroupKeyRef {
  readonly groupKey: Uint8Array;
  readonly epoch: number;
}

export function deriveKek(shared: Point, file: GuardedFileRef, group: GroupKeyRef): Uint8Array {
  const ikm = encodePoint(shared);
  const info = concat(
    utf8('shardvault/v1/guard'),
    fromHex(file.fileId, 'fileId', 16),
    u32be(file.version),
    file.point,
    group.groupKey,
    u32be(group.epoch),
  );
  const kek = hkdf(ikm, fromHex(file.vaultId, 'vaultId', 16), info);
  wipe(ikm);
  return kek;
}

/** At put: a fresh R and its KEK. The scalar r lives only inside this call. */
export function newFilePoint(
  group: GroupKeyRef,
  file: Omit<GuardedFileRef, 'point'>,
): { point: Uint8Array; kek: Uint8Array } {
  const P = decodePoint(group.groupKey, 'group key');
  // A bigint cannot be zeroed: r's only reference ends with this call (see crypto/bytes wipe).
  const r = randomScalar();
  const point = encodePoint(mulBase(r));
  return { point, kek: deriveKek(mul(P, r), { ...file, point }, group) };
}

/** Σ λ_i·Z_i over exactly the given indices (G of them): s·R if every Z_i is honest. */
export function combinePartials(partials: readonly { readonly index: number; readonly partial: Point }[]): Point {
  const indices = partials.map((p) => p.index);
  return sumOfProducts(
    partials.map((p) => p.partial),
    partials.map((p) => lagrangeAtZero(indices, p.index)),
  );
}
