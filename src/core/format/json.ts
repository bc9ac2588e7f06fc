/**
 * Strict validation of the JSON bodies of records (docs/FORMAT.md). Each function takes an
 * `unknown`, checks one thing, and throws a CorruptError naming the record and field; no
 * coercion, no defaults for missing fields, no unknown keys.
 */
import { CorruptError } from '../errors';

export class JsonReader {
  constructor(readonly what: string) {}

  fail(field: string, problem: string): never {
    throw new CorruptError(`${this.what}: ${field} ${problem}`);
  }

  parse(bytes: Uint8Array): unknown {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      return JSON.parse(text) as unknown;
    } catch {
      return this.fail('body', 'is not valid UTF-8 JSON');
    }
  }

  object(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'must be an object');
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record))
      if (!keys.includes(key)) this.fail(`${field}.${key}`, 'is not a known field');
    for (const key of keys) if (!(key in record)) this.fail(`${field}.${key}`, 'is missing');
    return record;
  }

  array(value: unknown, field: string, max: number): unknown[] {
    if (!Array.isArray(value)) this.fail(field, 'must be an array');
    if (value.length > max) this.fail(field, `has more than ${max} items`);
    return value;
  }

  string(value: unknown, field: string, max = 4096): string {
    if (typeof value !== 'string') this.fail(field, 'must be a string');
    if (value.length > max) this.fail(field, `is longer than ${max} characters`);
    return value;
  }

  int(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) this.fail(field, 'must be an integer');
    if (value < min || value > max) this.fail(field, `must be between ${min} and ${max}`);
    return value;
  }

  hex(value: unknown, field: string, bytes: number): string {
    const text = this.string(value, field, bytes * 2);
    if (text.length !== bytes * 2 || !/^[0-9a-f]*$/.test(text))
      this.fail(field, `must be ${bytes} bytes of lowercase hex`);
    return text;
  }

  base64(value: unknown, field: string, maxBytes: number): Uint8Array {
    const text = this.string(value, field, Math.ceil(maxBytes / 3) * 4 + 4);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) this.fail(field, 'must be base64');
    const out = new Uint8Array(Buffer.from(text, 'base64'));
    if (out.length > maxBytes) this.fail(field, `is longer than ${maxBytes} bytes`);
    return out;
  }

  time(value: unknown, field: string): string {
    const text = this.string(value, field, 40);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(text) || Number.isNaN(Date.parse(text))) {
      this.fail(field, 'must be an ISO-8601 UTC time');
    }
    return text;
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
    const text = this.string(value, field, 64);
    if (!(allowed as readonly string[]).includes(text)) this.fail(field, `must be one of ${allowed.join(', ')}`);
    return text as T;
  }

  nullable<T>(value: unknown, read: (v: unknown) => T): T | null {
    return value === null ? null : read(value);
  }
}
