/**
 * Strict readers and writers for the binary records of docs/FORMAT.md. A reader never
 * guesses: a short, long or malformed record is a CorruptError naming the record.
 */
import { CorruptError } from '../errors';
import { concat, u32be, u64be, utf8 } from '../crypto/bytes';

export class ByteReader {
  private at = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  take(length: number, field: string): Uint8Array {
    if (this.at + length > this.bytes.length) throw new CorruptError(`${this.what}: truncated at ${field}`);
    const out = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  u8(field: string): number {
    return this.take(1, field)[0]!;
  }

  u32(field: string): number {
    const b = this.take(4, field);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }

  u64(field: string): number {
    const b = this.take(8, field);
    const value = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`${this.what}: ${field} out of range`);
    return Number(value);
  }

  magic(expected: string, version: number): void {
    this.magicOf(expected, [version]);
  }

  /** Reads the magic and a version byte that must be one of `versions`; returns it. */
  magicOf(expected: string, versions: readonly number[]): number {
    const m = this.take(4, 'magic');
    if (String.fromCharCode(...m) !== expected) throw new CorruptError(`${this.what}: not a ${expected} record`);
    const v = this.u8('version');
    if (!versions.includes(v))
      throw new CorruptError(`${this.what}: unknown version ${v} (this program reads ${versions.join(' and ')})`);
    return v;
  }

  /** Bytes consumed so far (the header, when called after reading it). */
  consumed(): Uint8Array {
    return this.bytes.subarray(0, this.at);
  }

  rest(): Uint8Array {
    const out = this.bytes.subarray(this.at);
    this.at = this.bytes.length;
    return out;
  }

  end(): void {
    if (this.at !== this.bytes.length)
      throw new CorruptError(`${this.what}: ${this.bytes.length - this.at} unexpected trailing bytes`);
  }
}

export type Field = { u8: number } | { u32: number } | { u64: number } | { bytes: Uint8Array };

export function writeRecord(magic: string, version: number, fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = [utf8(magic), Uint8Array.of(version)];
  for (const f of fields) {
    if ('u8' in f) parts.push(Uint8Array.of(f.u8));
    else if ('u32' in f) parts.push(u32be(f.u32));
    else if ('u64' in f) parts.push(u64be(f.u64));
    else parts.push(f.bytes);
  }
  return concat(...parts);
}
