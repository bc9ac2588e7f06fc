/**
 * Sealing to a public key (ECIES over X25519, RFC 7748): an ephemeral key pair, the X25519
 * shared secret through HKDF-SHA256 (salt = ephemeral public || recipient public), then
 * AES-256-GCM under a zero nonce (the key is used once). Lets a device append an audit
 * entry that only holders of the vault key can read, even while the vault is locked
 * (a failed unlock is logged too).
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CorruptError } from '../errors';
import { open, seal, NONCE_BYTES, TAG_BYTES } from './aead';
import { abytes, concat, wipe } from './bytes';
import { hkdf } from './kdf';

export const X25519_BYTES = 32;
/** Bytes sealTo adds to a plaintext: the ephemeral public key and the tag. */
export const SEALED_TO_OVERHEAD = X25519_BYTES + TAG_BYTES;

export interface X25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

function privateKeyObject(privateKey: Uint8Array, publicKey: Uint8Array): KeyObject {
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: b64url(privateKey), x: b64url(publicKey) },
    format: 'jwk',
  });
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(publicKey) }, format: 'jwk' });
}

export function generateX25519(): X25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const pub = publicKey.export({ format: 'jwk' });
  const priv = privateKey.export({ format: 'jwk' });
  return {
    publicKey: new Uint8Array(Buffer.from(pub.x!, 'base64url')),
    privateKey: new Uint8Array(Buffer.from(priv.d!, 'base64url')),
  };
}

function boxKey(shared: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array): Uint8Array {
  return hkdf(shared, concat(ephemeral, recipient), 'shardvault/v1/sealed-box');
}

/** Returns ephemeral public key (32) || ciphertext || tag. */
export function sealTo(recipient: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  abytes(recipient, 'recipient public key', X25519_BYTES);
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const ephemeral = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
  const shared = new Uint8Array(diffieHellman({ privateKey, publicKey: publicKeyObject(recipient) }));
  const key = boxKey(shared, ephemeral, recipient);
  const sealed = seal(key, new Uint8Array(NONCE_BYTES), plaintext, aad);
  wipe(shared, key);
  return concat(ephemeral, sealed);
}

export function openFrom(pair: X25519KeyPair, boxed: Uint8Array, aad: Uint8Array, what = 'sealed record'): Uint8Array {
  abytes(boxed, 'boxed');
  if (boxed.length < X25519_BYTES + TAG_BYTES) throw new CorruptError(`${what} is too short`);
  const ephemeral = boxed.subarray(0, X25519_BYTES);
  let shared: Uint8Array;
  try {
    shared = new Uint8Array(
      diffieHellman({
        privateKey: privateKeyObject(pair.privateKey, pair.publicKey),
        publicKey: publicKeyObject(ephemeral),
      }),
    );
  } catch {
    // A malformed or low-order ephemeral key: node:crypto refuses it.
    throw new CorruptError(`${what} carries an invalid ephemeral key`);
  }
  const key = boxKey(shared, ephemeral, pair.publicKey);
  try {
    return open(key, new Uint8Array(NONCE_BYTES), boxed.subarray(X25519_BYTES), aad, what);
  } finally {
    wipe(shared, key);
  }
}
