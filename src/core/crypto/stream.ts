/**
 * STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and its
 * Nonce-Reuse Misuse-Resistance", 2015) over AES-256-GCM: a shard is a sequence of frames,
 * frame i sealed with nonce = 0^7 || be32(i) || last, where last is 1 on the final frame
 * only. Reordered, dropped, duplicated or truncated frames fail authentication, and so does
 * a stream cut right after a non-final frame (its successor never carries last = 1).
 *
 * Every shard has its own random key, used for that shard only, so the counter nonces never
 * repeat under one key. The shard header is the associated data of every frame.
 */
import { CorruptError } from '../errors';
import { open, seal, sealParts, NONCE_BYTES } from './aead';
import { auint } from './bytes';

export const MAX_FRAMES = 0xffffffff;

export function frameNonce(index: number, last: boolean): Uint8Array {
  auint(index, 'frame index', 0, MAX_FRAMES);
  const nonce = new Uint8Array(NONCE_BYTES);
  new DataView(nonce.buffer).setUint32(7, index);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

export function sealFrame(
  key: Uint8Array,
  index: number,
  last: boolean,
  piece: Uint8Array,
  header: Uint8Array,
): Uint8Array {
  return seal(key, frameNonce(index, last), piece, header);
}

/** sealFrame with ciphertext and tag apart (no copy to join them). */
export function sealFrameParts(
  key: Uint8Array,
  index: number,
  last: boolean,
  piece: Uint8Array,
  header: Uint8Array,
): [ciphertext: Uint8Array, tag: Uint8Array] {
  return sealParts(key, frameNonce(index, last), piece, header);
}

export function openFrame(
  key: Uint8Array,
  index: number,
  last: boolean,
  frame: Uint8Array,
  header: Uint8Array,
): Uint8Array {
  try {
    return open(key, frameNonce(index, last), frame, header, `frame ${index}`);
  } catch (err) {
    if (err instanceof CorruptError)
      throw new CorruptError(`frame ${index}${last ? ' (last)' : ''} failed authentication`);
    throw err;
  }
}
