/**
 * Damage to what a location stores, made on the location folders themselves: bytes
 * flipped, objects truncated, extended, replaced by noise or by another object of the same
 * kind (a shard of another file, an older head), and whole folders rolled back to a copy.
 */
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { Rng } from './rng';
import { FaultVault, type Scratch } from './vault';

export type Mutation = 'flip' | 'truncate' | 'empty' | 'extend' | 'noise' | 'swap';
export const MUTATIONS: readonly Mutation[] = ['flip', 'flip', 'truncate', 'empty', 'extend', 'noise', 'swap'];

function noise(rng: Rng, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = rng.int(0, 255);
  return out;
}

/**
 * Damages `path` in place; `peers` are other objects of the same kind that a swap may copy
 * from. Returns what it did, in words. Every mutation changes the bytes.
 */
export async function mutate(rng: Rng, path: string, kind: Mutation, peers: readonly string[] = []): Promise<string> {
  const bytes = await fs.readFile(path);
  const name = nodePath.basename(path);
  const others = peers.filter((p) => p !== path);
  if (kind === 'swap' && others.length > 0) {
    const from = rng.pick(others);
    const theirs = await fs.readFile(from);
    if (!theirs.equals(bytes)) {
      await fs.writeFile(path, theirs);
      return `${name}: replaced by ${nodePath.basename(from)}`;
    }
  }
  if ((kind === 'truncate' || kind === 'empty') && bytes.length > 0) {
    const length = kind === 'empty' ? 0 : rng.int(0, bytes.length - 1);
    await fs.writeFile(path, bytes.subarray(0, length));
    return `${name}: truncated ${bytes.length} -> ${length}`;
  }
  if (kind === 'extend') {
    const extra = noise(rng, rng.int(1, 64));
    await fs.writeFile(path, Buffer.concat([bytes, extra]));
    return `${name}: ${extra.length} bytes appended`;
  }
  if (kind === 'noise' && bytes.length > 0) {
    let replaced = noise(rng, bytes.length);
    if (replaced.equals(bytes)) replaced = Buffer.from(replaced.map((b) => b ^ 1));
    await fs.writeFile(path, replaced);
    return `${name}: replaced by ${bytes.length} random bytes`;
  }
  if (bytes.length === 0) {
    await fs.writeFile(path, noise(rng, rng.int(1, 64)));
    return `${name}: empty object filled with noise`;
  }
  const flips = rng.int(1, 16);
  const at: number[] = [];
  for (let i = 0; i < flips; i++) {
    const offset = rng.int(0, bytes.length - 1);
    bytes[offset] = bytes[offset]! ^ rng.int(1, 255);
    at.push(offset);
  }
  await fs.writeFile(path, bytes);
  return `${name}: ${flips} byte(s) flipped at ${at.slice(0, 4).join(',')}${flips > 4 ? ',…' : ''}`;
}

/** Copies a location folder aside (what an old backup of the disk holds). */
export async function snapshot(location: string, aside: string): Promise<void> {
  await fs.rm(aside, { recursive: true, force: true });
  await fs.cp(location, aside, { recursive: true, preserveTimestamps: true });
}

/** Puts an old copy back in place of the location folder (the disk restored from backup). */
export async function restore(aside: string, location: string): Promise<void> {
  await fs.rm(location, { recursive: true, force: true });
  await fs.cp(aside, location, { recursive: true, preserveTimestamps: true });
}

/** The name `init` gives the i-th location (from 0) when none is given. */
export const nameOf = (i: number): string => `loc${i + 1}`;

/** A vault over five folders (loc1..loc5, X = 2) holding one file of each size. */
export async function vaultWithFiles(
  root: Scratch,
  label: string,
  rng: Rng,
  sizes: readonly number[],
): Promise<{ vault: FaultVault; locations: string[] }> {
  const locations = await root.locations(nodePath.join(label, 'locs'), 5);
  const vault = await FaultVault.init(label, await root.dir(label, 'work'), locations);
  for (const [i, size] of sizes.entries()) await vault.putOk(size, rng.u32(), `edge-${i}-${size}`);
  return { vault, locations };
}
