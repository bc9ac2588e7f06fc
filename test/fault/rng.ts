/**
 * Seeded randomness for the fault suite: every choice (which operation, when to kill, which
 * byte to flip) and every test file's content comes from the run's seed and the scenario's
 * name, so SHARDVAULT_FAULT_SEED=N replays the same faults (the moments a process is
 * killed still land where the machine's speed puts them).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { inject } from 'vitest';

/** mulberry32: small, fast, good enough to pick faults. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The scenario's generator, from the run's seed and its name. */
  static for(label: string): Rng {
    return new Rng(derive(inject('faultSeed'), label).readUInt32BE(0));
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  range(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** `count` distinct items. */
  sample<T>(items: readonly T[], count: number): T[] {
    return this.shuffle(items).slice(0, count);
  }

  /** A 32-bit value to seed something else. */
  u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}

function derive(seed: number, label: string): Buffer {
  return createHash('sha256').update(`${seed}:${label}`).digest();
}

/**
 * Writes `size` bytes of seeded content (AES-128-CTR keystream of the label) to `path` and
 * returns their SHA-256: reproducible, incompressible, fast.
 */
export async function writeSeededFile(path: string, size: number, seed: number): Promise<string> {
  const key = derive(seed, 'content');
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  const zeros = Buffer.alloc(1 << 20);
  for (let left = size; left > 0; left -= zeros.length) {
    const chunk = cipher.update(zeros.subarray(0, Math.min(zeros.length, left)));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
  }
  out.end();
  await done;
  return hash.digest('hex');
}
