/**
 * Shamir secret sharing of the vault key (the `shamir-secret-sharing` package: GF(2^8)
 * with the AES polynomial, one byte of x-coordinate appended to each share).
 *
 * `combine` returns garbage, not an error, from too few shares or from shares of two
 * deals, so every deal has a key-check value (see vault/keys.ts) and callers use
 * `recoverChecked`, which tries subsets until one matches.
 */
import { combine, split } from 'shamir-secret-sharing';
import { abytes, auint } from './bytes';

export const SECRET_BYTES = 32;
export const SHARE_BYTES = SECRET_BYTES + 1;

export async function splitSecret(secret: Uint8Array, total: number, threshold: number): Promise<Uint8Array[]> {
  abytes(secret, 'secret', SECRET_BYTES);
  auint(threshold, 'threshold', 2, 255);
  auint(total, 'total', threshold, 255);
  return split(secret, total, threshold);
}

/** The x-coordinate of a share (its last byte). */
export function shareX(share: Uint8Array): number {
  abytes(share, 'share', SHARE_BYTES);
  return share[SHARE_BYTES - 1]!;
}

/**
 * Finds `threshold` shares (distinct x) that combine to a secret accepted by `check`. Tries
 * subsets in order, so a share forged or damaged by one location costs time, not the vault.
 * Returns null when no subset passes.
 */
export async function recoverChecked(
  shares: readonly Uint8Array[],
  threshold: number,
  check: (secret: Uint8Array) => boolean,
  maxTries = 5000,
): Promise<Uint8Array | null> {
  const unique = new Map<number, Uint8Array>();
  for (const s of shares) {
    abytes(s, 'share', SHARE_BYTES);
    if (!unique.has(shareX(s))) unique.set(shareX(s), s);
  }
  const pool = [...unique.values()];
  if (pool.length < threshold) return null;
  let tries = 0;
  for (const subset of combinations(pool.length, threshold)) {
    if (++tries > maxTries) break;
    const secret = await combine(subset.map((i) => pool[i]!));
    if (check(secret)) return secret;
    secret.fill(0);
  }
  return null;
}

/** Index subsets of size `size` from 0..count-1, in lexicographic order. */
export function* combinations(count: number, size: number): Generator<number[]> {
  if (size > count || size < 0) return;
  const idx = Array.from({ length: size }, (_, i) => i);
  for (;;) {
    yield [...idx];
    let i = size - 1;
    while (i >= 0 && idx[i] === count - size + i) i--;
    if (i < 0) return;
    idx[i]!++;
    for (let j = i + 1; j < size; j++) idx[j] = idx[j - 1]! + 1;
  }
}
