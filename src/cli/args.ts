/**
 * Command-line parsing for the CLI contract (README, "CLI"). Strict: an unknown flag, a
 * missing value or a stray argument is a usage error (exit 2), never a guess.
 */
import { UsageError } from '../core/errors';

export interface Parsed {
  readonly command: string;
  readonly positional: string[];
  readonly values: Map<string, string[]>;
  readonly flags: Set<string>;
  readonly json: boolean;
}

const VALUE_OPTIONS = new Set([
  'location',
  'wait',
  'approvals',
  'data',
  'total',
  'threshold',
  'replicas',
  'survive',
  'secret-against',
  'segment-size',
  'kdf-cost',
  'insecure-kdf-cost',
  'name',
  'output',
  'port',
  'size',
  'dir',
  'expect-fingerprint',
  'happy',
  'lose',
  'domain',
  'lose-domain',
  'listen',
  'public-host',
  'max-connections',
]);
const FLAG_OPTIONS = new Set([
  'replace',
  'guarded',
  'force',
  'recovery',
  'deep',
  'json',
  'help',
  'keep',
  'trust-new-host-key',
  'untrusted',
  'weak-passphrase',
  'allow-insecure-http',
  'create',
  'open',
  'new-recovery-code',
  'recursive',
  'tree',
  'background',
  'with-recovery-code',
]);

export function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const key = arg.slice(2, eq < 0 ? undefined : eq);
      if (VALUE_OPTIONS.has(key)) {
        const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new UsageError(`--${key} needs a value`);
        values.set(key, [...(values.get(key) ?? []), value]);
      } else if (FLAG_OPTIONS.has(key)) {
        if (eq >= 0) throw new UsageError(`--${key} takes no value`);
        flags.add(key);
      } else {
        throw new UsageError(`unknown option --${key}`);
      }
    } else if (arg === '-h') {
      flags.add('help');
    } else if (arg === '-r') {
      flags.add('recursive');
    } else {
      positional.push(arg);
    }
  }
  const command = positional.shift() ?? (flags.has('help') ? 'help' : '');
  return { command, positional, values, flags, json: flags.has('json') };
}

export function one(p: Parsed, key: string): string | undefined {
  const v = p.values.get(key);
  if (v && v.length > 1) throw new UsageError(`--${key} may be given once`);
  return v?.[0];
}

export function integer(p: Parsed, key: string, min: number, max: number): number | undefined {
  const text = one(p, key);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${key} must be a whole number`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${key} must be between ${min} and ${max}`);
  return n;
}

/** Sizes like 4096, 64k, 4M, 1G (powers of 1024). */
export function byteSize(p: Parsed, key: string): number | undefined {
  const text = one(p, key);
  if (text === undefined) return undefined;
  const m = /^(\d+)([kKmMgG]i?[bB]?)?$/.exec(text);
  if (!m) throw new UsageError(`--${key} must be a size like 65536, 64K or 4M`);
  const unit = (m[2] ?? '').charAt(0).toLowerCase();
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}
