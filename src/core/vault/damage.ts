/**
 * Shard copies this device found damaged and no repair has rebuilt yet: a get that read
 * around a copy, a deep check that opened one. A quick look (ls, status, a plain repair)
 * compares sizes only and would call such a copy whole, so the finding is remembered here,
 * in `damage.json` beside the profile (docs/FORMAT.md), never on a location: it names
 * locations and objects, and a location must not be able to erase the finding against it.
 *
 * ls, placement and status show a remembered copy as damaged; a plain repair opens it again
 * and rebuilds it (or forgets it if it reads whole now: another device repaired it). The
 * caller holds the profile lock, as for the profile.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { utf8 } from '../crypto/bytes';
import { JsonReader } from '../format/json';
import { ID_BYTES, stagedCopyOf } from '../format/records';

export const DAMAGE_FILE = 'damage.json';
/** Copies remembered at most (a vault with more damage than this needs a deep repair anyway). */
const MAX_COPIES = 4096;

/** One shard copy: the location holding it and its object path (`shards/…` or `staged/…`). */
export interface CopyRef {
  readonly location: string;
  readonly path: string;
}

interface Finding extends CopyRef {
  readonly found: string;
}

const key = (c: CopyRef): string => `${c.location}:${c.path}`;

export class DamageRegister {
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly vaultId: string,
    private findings: Finding[],
  ) {}

  /**
   * The register of the profile in `dir`. A file that does not parse (or names another vault)
   * is reported and started afresh: it only remembers findings a deep check makes again.
   */
  static async load(dir: string, vaultId: string, warn?: (message: string) => void): Promise<DamageRegister> {
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(nodePath.join(dir, DAMAGE_FILE));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn?.(`${DAMAGE_FILE}: ${(err as Error).message}`);
      return new DamageRegister(dir, vaultId, []);
    }
    try {
      const findings = decodeDamage(bytes, vaultId);
      return new DamageRegister(dir, vaultId, findings);
    } catch (err) {
      warn?.(`${(err as Error).message}; the damaged copies it remembered are found again by verify --deep`);
      return new DamageRegister(dir, vaultId, []);
    }
  }

  get size(): number {
    return this.findings.length;
  }

  has(copy: CopyRef): boolean {
    return this.findings.some((f) => key(f) === key(copy));
  }

  all(): readonly CopyRef[] {
    return this.findings;
  }

  /** Remembers copies found damaged (once each). */
  async record(copies: readonly CopyRef[]): Promise<void> {
    const found = new Date().toISOString();
    const fresh = copies.filter((c, i) => !this.has(c) && copies.findIndex((d) => key(d) === key(c)) === i);
    if (fresh.length === 0) return;
    this.findings = [...this.findings, ...fresh.map((c) => ({ location: c.location, path: c.path, found }))].slice(
      -MAX_COPIES,
    );
    await this.save();
  }

  /** Forgets copies (rebuilt, found whole, or no longer part of any file). */
  async forget(copies: readonly CopyRef[]): Promise<void> {
    const gone = new Set(copies.map(key));
    const kept = this.findings.filter((f) => !gone.has(key(f)));
    if (kept.length === this.findings.length) return;
    this.findings = kept;
    await this.save();
  }

  /** A staged copy moved to its own location: a finding against it now stands against the copy there. */
  async moved(from: CopyRef, to: CopyRef): Promise<void> {
    if (!this.has(from)) return;
    await this.forget([from]);
    await this.record([to]);
  }

  /** Saves one at a time (callers may change the register from parallel work), each time
   * what it holds then, so the last save wins with the latest state. */
  private save(): Promise<void> {
    const next = this.saving.then(() => this.write());
    this.saving = next.catch(() => undefined);
    return next;
  }

  private async write(): Promise<void> {
    const target = nodePath.join(this.dir, DAMAGE_FILE);
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    const body = { format: 'shardvault-damage', version: 1, vaultId: this.vaultId, copies: this.findings };
    const handle = await fs.open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(utf8(`${JSON.stringify(body, null, 2)}\n`));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  }
}

function decodeDamage(bytes: Uint8Array, vaultId: string): Finding[] {
  const j = new JsonReader(DAMAGE_FILE);
  const o = j.object(j.parse(bytes), 'damage', ['format', 'version', 'vaultId', 'copies']);
  if (o['format'] !== 'shardvault-damage') j.fail('format', 'is not shardvault-damage');
  if (o['version'] !== 1) j.fail('version', `is ${String(o['version'])}; this program reads 1`);
  if (j.hex(o['vaultId'], 'vaultId', ID_BYTES) !== vaultId) j.fail('vaultId', 'names another vault');
  return j.array(o['copies'], 'copies', MAX_COPIES).map((v, i) => {
    const c = j.object(v, `copies[${i}]`, ['location', 'path', 'found']);
    const path = j.string(c['path'], `copies[${i}].path`, 128);
    if (!/^shards\/[0-9a-f]{32}$/.test(path) && !stagedCopyOf(path)) j.fail(`copies[${i}].path`, 'is not a shard copy');
    return {
      location: j.hex(c['location'], `copies[${i}].location`, ID_BYTES),
      path,
      found: j.time(c['found'], `copies[${i}].found`),
    };
  });
}
