/**
 * Ed25519 (RFC 8032) from a 32-byte seed, through node:crypto (present in Electron's
 * BoringSSL too). The vault derives a signing key from its vault key (vault/keys.ts
 * `keyPin`): a device pins the public half, and a key rotation is vouched for by a record
 * signed with the old key's private half, which only holders of the old vault key can make.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { abytes, concat } from './bytes';

export const ED25519_PUBLIC_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): SEQUENCE { 0, { id-Ed25519 }, OCTET STRING { seed } }.
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
// SubjectPublicKeyInfo of an Ed25519 key: SEQUENCE { { id-Ed25519 }, BIT STRING { key } }.
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

function privateKey(seed: Uint8Array): KeyObject {
  abytes(seed, 'seed', 32);
  const der = Buffer.from(concat(PKCS8_PREFIX, seed));
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** The public key of a seed, raw (32 bytes). */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKey(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKey(seed)));
}

/** False for a wrong signature or a malformed key; never throws on well-typed input. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  abytes(publicKey, 'publicKey', ED25519_PUBLIC_BYTES);
  abytes(signature, 'signature', ED25519_SIGNATURE_BYTES);
  try {
    const key = createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, publicKey)), format: 'der', type: 'spki' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
