/**
 * What every command shares: where its output goes (Io), printing a result as text or
 * --json, and opening the profile's vault with the terminal's questions wired in (host keys,
 * key passphrases, the previous passphrase) and the progress line on stderr.
 */
import type { ProgressEvent } from '../shared/api';
import { formatBytes, formatDuration, formatSpeed } from '../shared/format';
import type { Schema } from '../shared/ipc';
import { hasCredentials } from '../shared/redact';
import { ShardvaultError, UsageError } from '../core/errors';
import { lockProfile, profileDir } from '../core/vault/profile';
import type { AskKeyPassphrase, ConfirmHostKey } from '../core/vault/locations';
import { Vault, type CreateOptions, type VaultOptions } from '../core/vault/vault';
import type { Parsed } from './args';
import { askYesNo, readSecret } from './prompt';

/** Where a command writes: `out` is its answer (stdout), `err` warnings (stderr, redacted). */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  json: boolean;
}

/** What the locations' failure domains cost the policy, after a location change (domains.ts). */
export function warnAboutDomains(vault: Vault, io: Io): void {
  for (const w of vault.domainWarnings()) io.err(`shardvault: warning: ${w}`);
}

/**
 * A command's answer: `value` as JSON under --json, else the text `human` makes. An answer the
 * bridges also carry passes through that call's response schema (src/shared/ipc.ts) first, so
 * --json prints the contract's shape, checked, as the UI gets it.
 */
export function print<T>(io: Io, value: T, human: () => string, schema?: Schema<T>): void {
  io.out(io.json ? JSON.stringify(schema ? schema.parse(value) : value, null, 2) : human());
}

function progressPrinter(io: Io): ((e: ProgressEvent) => void) | undefined {
  if (!process.stderr.isTTY || io.json) return undefined;
  const started = performance.now();
  let lastDraw = 0;
  return (e) => {
    const now = performance.now();
    if (now - lastDraw < 100 && e.done !== e.total) return;
    lastDraw = now;
    process.stderr.write(`\r\x1b[K${progressLine(e, (now - started) / 1000)}`);
    if (e.done === e.total && (!e.files || e.files.done === e.files.total)) process.stderr.write('\n');
  };
}

/** One progress line: bytes, share, speed; for a folder its files and the time left too. */
export function progressLine(e: ProgressEvent, seconds: number): string {
  if (e.op === 'verify') return `${e.op} ${e.name}: ${e.done}/${e.total} files`;
  const rate = e.done / Math.max(0.001, seconds);
  const pct = e.total > 0 ? ` ${Math.floor((e.done / e.total) * 100)}%` : '';
  const files = e.files ? ` ${e.files.done}/${e.files.total} files,` : '';
  const left = e.files && rate > 0 && e.total > e.done ? `, ${formatDuration((e.total - e.done) / rate)} left` : '';
  return `${e.op} ${e.name}:${files} ${formatBytes(e.done)}${pct} ${formatSpeed(rate)}${left}`;
}

/** The profile lock, waiting up to `ms` for another process to let it go (0: not at all). */
async function lockWaiting(dir: string, ms: number): Promise<() => Promise<void>> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await lockProfile(dir);
    } catch (err) {
      if (!(err instanceof ShardvaultError && err.code === 'busy') || Date.now() >= until) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/**
 * Runs `work` on the profile's vault, holding the profile lock: unlocked with the passphrase
 * ($SHARDVAULT_PASSPHRASE or a prompt) when `unlock`, else loaded locked (status works so;
 * with $SHARDVAULT_PASSPHRASE set it can also open sealed credentials).
 */
export async function withVault<T>(
  io: Io,
  args: Parsed,
  options: { unlock: boolean; waitForLockMs?: number },
  work: (vault: Vault, passphrase: string | undefined) => Promise<T>,
): Promise<T> {
  const dir = profileDir(process.env);
  const release = await lockWaiting(dir, options.waitForLockMs ?? 0);
  const vaultOptions: VaultOptions = {
    onProgress: progressPrinter(io),
    onWarning: warner(io),
    // location add and edit take new locations as init and open do.
    confirmHostKey: hostKeyConfirmer(args),
    askKeyPassphrase: keyPassphraseAsker(),
    allowInsecureHttp: args.flags.has('allow-insecure-http'),
    // Only a command that unlocks seals the credentials again: a locked one would ask each time.
    ...(options.unlock ? { askOldPassphrase: oldPassphraseAsker() } : {}),
  };
  let vault: Vault | null = null;
  try {
    const passphrase = options.unlock
      ? await readSecret('SHARDVAULT_PASSPHRASE', 'Passphrase')
      : process.env['SHARDVAULT_PASSPHRASE'] || undefined;
    vault = await Vault.load(dir, vaultOptions, passphrase);
    if (options.unlock && passphrase) await vault.unlock({ passphrase });
    return await work(vault, passphrase);
  } finally {
    await vault?.close();
    await release();
  }
}

/** The engine's warnings, on stderr. */
export function warner(io: Io): (message: string) => void {
  return (m) => io.err(`shardvault: warning: ${m}`);
}

/**
 * Trust on first use of an SSH host key: --trust-new-host-key for scripts, a question on a
 * terminal, otherwise refused (the engine then names the fingerprint to pin).
 */
export function hostKeyConfirmer(args: Parsed): ConfirmHostKey | undefined {
  if (args.flags.has('trust-new-host-key')) return () => Promise.resolve(true);
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return (display, fingerprint) => askYesNo(`${display} presents host key ${fingerprint}. Trust it and pin it? [y/N] `);
}

/** Whether init makes a missing folder on this machine: --create says yes, a terminal asks;
 * otherwise the refusal names --create. */
export function folderCreator(args: Parsed): NonNullable<CreateOptions['confirmCreateFolder']> {
  if (args.flags.has('create')) return () => Promise.resolve(true);
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    return ({ display }) =>
      Promise.reject(
        new UsageError(`the folder ${display} does not exist: give --create to make it (or make it yourself)`),
      );
  }
  return ({ display }) => askYesNo(`Create the folder ${display}? [y/N] `);
}

/** The passphrase of a new SFTP location's encrypted key: asked on a terminal (scripts: $SHARDVAULT_SFTP_KEY_PASSPHRASE). */
export function keyPassphraseAsker(): AskKeyPassphrase | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return (display, keyFile) => readSecret('', `Passphrase of the key ${keyFile} (for ${display})`);
}

/** The passphrase this profile knew before a change on another device: $SHARDVAULT_OLD_PASSPHRASE, else asked on a terminal. */
function oldPassphraseAsker(): VaultOptions['askOldPassphrase'] {
  return async () =>
    process.env['SHARDVAULT_OLD_PASSPHRASE'] || (process.stdin.isTTY && process.stderr.isTTY)
      ? readSecret(
          'SHARDVAULT_OLD_PASSPHRASE',
          "This device's credentials do not open with that passphrase. If it was changed on another device, the previous passphrase",
        )
      : null;
}

/** Warns about secrets written into a location URL (they end up in shell history). */
export function warnAboutPasswords(specs: readonly string[], io: Io): void {
  for (const spec of specs) {
    if (hasCredentials(spec)) {
      io.err(
        'shardvault: warning: a password in a location URL lands in shell history and process lists; ' +
          'prefer an SSH key (identity=), or type it at the prompt of `location add` (see README)',
      );
      return;
    }
  }
}

/** A new passphrase must be hard to guess, unless --weak-passphrase says otherwise. */
export async function requireStrong(passphrase: string, args: Parsed): Promise<void> {
  // Only a command that takes a new passphrase loads the strength check.
  const { requireStrongPassphrase, WeakPassphraseError } = await import('../core/crypto/passphrase-strength');
  try {
    await requireStrongPassphrase(passphrase, { allowWeak: args.flags.has('weak-passphrase') });
  } catch (err) {
    if (err instanceof WeakPassphraseError)
      throw new ShardvaultError(err.code, `${err.message} (--weak-passphrase uses it anyway)`);
    throw err;
  }
}
