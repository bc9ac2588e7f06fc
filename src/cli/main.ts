/**
 * `shardvault`: the headless front end over the engine. The command contract (README,
 * "CLI") is what scripts and tests rely on: arguments, --json shapes, exit codes.
 */
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { LOCATION_PROBE_BYTES, type ProgressEvent } from '../shared/api';
import { fileBaseName } from '../shared/file-name';
import { formatBinary, formatBytes, formatSpeed, plural } from '../shared/format';
import { KDF_LIMITS, MIN_NEW_KDF_LOGN, newVaultKdf, type KdfParams } from '../core/crypto/kdf';
import { requireStrongPassphrase, WeakPassphraseError } from '../core/crypto/passphrase-strength';
import { removeAllSync } from '../core/cleanup';
import { exitCodeFor, ShardvaultError, UsageError } from '../core/errors';
import {
  getFile,
  listFiles,
  placement,
  putFile,
  readAccessLog,
  removeFile,
  setHappy,
  verify,
} from '../core/vault/files';
import { normalizeFingerprint } from '../core/vault/keys';
import { lockProfile, profileDir } from '../core/vault/profile';
import { repair } from '../core/vault/repair';
import { addLocation, editLocation, removeLocation, signInLocation, testLocation } from '../core/vault/location-ops';
import { addressOf, type AskKeyPassphrase, type ConfirmHostKey } from '../core/vault/locations';
import { Vault, type CreateOptions, type Secret, type VaultOptions } from '../core/vault/vault';
import { statusReport } from '../core/app';
import { healthWords, survivesWords, UNANCHORED, untilBack } from '../shared/words';
import { byteSize, expectPositional, integer, one, parseArgs, type Parsed } from './args';
import { runDemo } from './demo';
import { DRILL_USAGE, drillCommand } from './drill-command';
import { humanStatus, table } from './format';
import { askYesNo, readSecret } from './prompt';
import { hasCredentials, redactCredentials } from '../shared/redact';

const HELP = `shardvault: keep files split, encrypted and spread over storage you already have

usage: shardvault <command> [options]            --json may stand anywhere on the line
  init  --location SPEC ... (--data K --total N --threshold T [--replicas R] | --survive X --secret-against Y)
        [--segment-size BYTES] [--kdf-cost LOGN] [--weak-passphrase] [--create]
                                           prints k, n, t, the recovery code (once) and the key fingerprint;
                                           makes a missing last folder: on a server at once, on this machine
                                           after asking (--create: yes, for scripts)
  open  --location SPEC ... [--recovery [--weak-passphrase]] [--expect-fingerprint FP]
                                           attach this profile to an existing vault (a new machine);
                                           --recovery sets a new passphrase; FP: the recovery kit's
                                           vault key fingerprint, checked before anything is trusted
  put   FILE [--name NAME] [--replace] [--survive X] [--happy N]   an existing NAME is refused without
                                           --replace; --survive: this file survives losing X locations (more
                                           parity); --happy: only if N locations can take shards (default k)
  settings [--happy N|default]             this device's settings (the default for put --happy)
  get   NAME [--output PATH] [--force]     default ./NAME; PATH may be a folder (PATH/NAME); an existing
                                           file is refused without --force
  ls | rm NAME | status | placement NAME | verify [--deep] | repair [--deep] | log
  location add SPEC | list | edit NAME [SPEC] [--name NEW] | login NAME | remove NAME [--untrusted] | test NAME
                                           login: the password (or key passphrase) of a location this
                                           device learned from the vault ($SHARDVAULT_LOCATION_PASSWORD)
${`  ${DRILL_USAGE}`.padEnd(43)}would every file read and the vault unlock without LOC,LOC and
                                           the unreachable? changes nothing; exit 6 if something would be
                                           lost; --open also opens afresh from the rest, reads up to 10 files
  passphrase change [--new-recovery-code] [--weak-passphrase]
                                           seal the key shares under a new passphrase ($SHARDVAULT_NEW_PASSPHRASE,
                                           else typed twice); --new-recovery-code also retires the recovery code
  serve [--port P]                         the desktop UI in a browser, on this machine only
  node serve --dir DIR --listen HOST:PORT [--public-host NAME]
                                           this machine as a Shardvault node for one vault: prints the
                                           SPEC to add it with (docs/NODE.md); runs until Ctrl+C
  demo  [--size BYTES] [--keep]            a demo vault over temporary folders

SPEC is a folder path, sftp://USER@HOST:PORT/PATH?identity=KEYFILE&fingerprint=SHA256:...,
webdav+http(s)://USER:PASSWORD@HOST:PORT/PATH, or s3(+http)://KEY:SECRET@HOST:PORT/BUCKET/PREFIX
[?region=R&style=virtual], or node+https://HOST:PORT/?fingerprint=SHA256:...&enrol=CODE (the line
\`node serve\` prints), optionally followed by #NAME (default loc1, loc2, ...).
--trust-new-host-key pins an SSH host key seen for the first time (scripts; a terminal asks).
--allow-insecure-http lets a WebDAV password or S3 requests go over plain http to another machine (init, open,
location add/edit); without it only this machine (127.0.0.0/8, ::1, localhost) gets one that way.
Profile: $SHARDVAULT_HOME, else $XDG_CONFIG_HOME/shardvault. Secrets: $SHARDVAULT_PASSPHRASE,
$SHARDVAULT_RECOVERY_CODE (with --recovery), $SHARDVAULT_OLD_PASSPHRASE (after a change on another
device), else a prompt on a terminal. A new passphrase must be hard to guess (refused, exit 2,
unless --weak-passphrase). --kdf-cost: scrypt N = 2^LOGN, 17..20
(default 17); --insecure-kdf-cost 10..20 is for tests only.
Exit codes: 0 ok, 1 error, 2 usage, 3 wrong or missing passphrase, 4 not enough locations,
5 busy, 6 verify found a problem (drill: something would be lost).
log marks an entry ${UNANCHORED.word} when ${UNANCHORED.explanation}`;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  json: boolean;
}

export async function main(argv: readonly string[]): Promise<number> {
  const jsonWanted = argv.includes('--json');
  const io: Io = {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    // Every line to stderr passes the one redaction: an error or warning may quote a SPEC.
    err: (t) => process.stderr.write(redactCredentials(t.endsWith('\n') ? t : `${t}\n`)),
    json: jsonWanted,
  };
  try {
    const args = parseArgs(argv);
    if (args.flags.has('help') || args.command === 'help' || args.command === '') {
      io.out(HELP);
      return args.command === '' && !args.flags.has('help') ? 2 : 0;
    }
    return await run(args, io);
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: Io): number {
  const known = err instanceof ShardvaultError;
  const code = known ? err.code : 'io';
  const message = redactCredentials(err instanceof Error ? err.message : String(err));
  if (io.json) io.out(JSON.stringify({ error: { code, message } }));
  else io.err(`shardvault: ${message}`);
  if (!known && process.env['SHARDVAULT_DEBUG']) io.err(String((err as Error).stack));
  return exitCodeFor(code);
}

function print(io: Io, value: unknown, human: () => string): void {
  io.out(io.json ? JSON.stringify(value, null, 2) : human());
}

function progressPrinter(io: Io): ((e: ProgressEvent) => void) | undefined {
  if (!process.stderr.isTTY || io.json) return undefined;
  const started = performance.now();
  let lastDraw = 0;
  return (e) => {
    const now = performance.now();
    if (now - lastDraw < 100 && e.done !== e.total) return;
    lastDraw = now;
    const rate = e.done / Math.max(0.001, (now - started) / 1000);
    const pct = e.total > 0 ? ` ${Math.floor((e.done / e.total) * 100)}%` : '';
    const what = e.op === 'verify' ? `${e.done}/${e.total} files` : `${formatBytes(e.done)}${pct} ${formatSpeed(rate)}`;
    process.stderr.write(`\r\x1b[K${e.op} ${e.name}: ${what}`);
    if (e.done === e.total) process.stderr.write('\n');
  };
}

async function withVault<T>(
  io: Io,
  args: Parsed,
  options: { unlock: boolean },
  work: (vault: Vault, passphrase: string | undefined) => Promise<T>,
): Promise<T> {
  const dir = profileDir();
  const release = await lockProfile(dir);
  const vaultOptions: VaultOptions = {
    onProgress: progressPrinter(io),
    onWarning: (m) => io.err(`shardvault: warning: ${m}`),
    // location add and edit take new locations as init and open do.
    confirmHostKey: hostKeyConfirmer(args),
    askKeyPassphrase: keyPassphraseAsker(),
    allowInsecureHttp: args.flags.has('allow-insecure-http'),
    // Only a command that unlocks seals the credentials again: a locked one would ask each time.
    ...(options.unlock ? { askOldPassphrase: oldPassphraseAsker() } : {}),
  };
  let vault: Vault | null = null;
  try {
    // status works locked; with $SHARDVAULT_PASSPHRASE set it can also open sealed credentials
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

/**
 * Trust on first use of an SSH host key: --trust-new-host-key for scripts, a question on a
 * terminal, otherwise refused (the engine then names the fingerprint to pin).
 */
function hostKeyConfirmer(args: Parsed): ConfirmHostKey | undefined {
  if (args.flags.has('trust-new-host-key')) return () => Promise.resolve(true);
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return (display, fingerprint) => askYesNo(`${display} presents host key ${fingerprint}. Trust it and pin it? [y/N] `);
}

/** Whether init makes a missing folder on this machine: --create says yes, a terminal asks;
 * otherwise the refusal names --create. */
function folderCreator(args: Parsed): NonNullable<CreateOptions['confirmCreateFolder']> {
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
function keyPassphraseAsker(): AskKeyPassphrase | undefined {
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
function warnAboutPasswords(specs: readonly string[], io: Io): void {
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

function policyOf(
  args: Parsed,
): { survive: number; secretAgainst: number } | { data: number; total: number; threshold: number; replicas: number } {
  const survive = integer(args, 'survive', 0, 254);
  const secretAgainst = integer(args, 'secret-against', 0, 254);
  const data = integer(args, 'data', 1, 255);
  const total = integer(args, 'total', 1, 255);
  const threshold = integer(args, 'threshold', 1, 255);
  const replicas = integer(args, 'replicas', 1, 64);
  const words = survive !== undefined || secretAgainst !== undefined;
  const numbers = data !== undefined || total !== undefined || threshold !== undefined;
  if (words && (numbers || replicas !== undefined))
    throw new UsageError('give either --survive/--secret-against or --data/--total/--threshold, not both');
  if (words) {
    if (survive === undefined || secretAgainst === undefined)
      throw new UsageError('--survive and --secret-against go together');
    return { survive, secretAgainst };
  }
  if (data === undefined || total === undefined || threshold === undefined) {
    throw new UsageError('init needs --survive X --secret-against Y, or --data K --total N --threshold T');
  }
  return { data, total, threshold, replicas: replicas ?? 1 };
}

/**
 * The scrypt cost of a new vault: --kdf-cost at or above the floor, or --insecure-kdf-cost
 * for tests (said so on stderr).
 */
function kdfOf(args: Parsed, io: Io): KdfParams {
  const [lowest, highest] = KDF_LIMITS.logN;
  const logN = integer(args, 'kdf-cost', 0, Number.MAX_SAFE_INTEGER);
  const insecure = integer(args, 'insecure-kdf-cost', lowest, highest);
  if (logN !== undefined && insecure !== undefined)
    throw new UsageError('give --kdf-cost or --insecure-kdf-cost, not both');
  if (insecure !== undefined) {
    const cheaper = 2 ** (MIN_NEW_KDF_LOGN - insecure);
    io.err(
      `shardvault: warning: --insecure-kdf-cost ${insecure} is for tests only: ` +
        (cheaper > 1
          ? `each guess at the passphrase costs ${cheaper} times less than at the floor (2^${MIN_NEW_KDF_LOGN})`
          : `use --kdf-cost ${insecure} for a real vault`),
    );
    return newVaultKdf(insecure, { insecure: true });
  }
  if (logN !== undefined && (logN < MIN_NEW_KDF_LOGN || logN > highest)) {
    throw new UsageError(
      `--kdf-cost must be between ${MIN_NEW_KDF_LOGN} and ${highest} (scrypt N = 2^LOGN): below ${MIN_NEW_KDF_LOGN}, ` +
        `guessing the passphrase is too cheap for a real vault; tests may use --insecure-kdf-cost ${lowest}..${highest}`,
    );
  }
  return newVaultKdf(logN);
}

/** A new passphrase must be hard to guess, unless --weak-passphrase says otherwise. */
async function requireStrong(passphrase: string, args: Parsed): Promise<void> {
  try {
    await requireStrongPassphrase(passphrase, { allowWeak: args.flags.has('weak-passphrase') });
  } catch (err) {
    if (err instanceof WeakPassphraseError)
      throw new ShardvaultError(err.code, `${err.message} (--weak-passphrase uses it anyway)`);
    throw err;
  }
}

async function run(args: Parsed, io: Io): Promise<number> {
  switch (args.command) {
    case 'init': {
      expectPositional(
        args,
        0,
        'init --location SPEC ... (--survive X --secret-against Y | --data K --total N --threshold T)',
      );
      const locations = args.values.get('location') ?? [];
      warnAboutPasswords(locations, io);
      const policy = policyOf(args);
      const kdf = kdfOf(args, io);
      const passphrase = await readSecret('SHARDVAULT_PASSPHRASE', 'New passphrase');
      await requireStrong(passphrase, args);
      if (
        !process.env['SHARDVAULT_PASSPHRASE'] &&
        (await readSecret('SHARDVAULT_PASSPHRASE', 'Passphrase again')) !== passphrase
      ) {
        throw new UsageError('the passphrases differ');
      }
      const dir = profileDir();
      const release = await lockProfile(dir);
      try {
        const { vault, recoveryCode, warnings, madeFolders } = await Vault.create(dir, {
          locations,
          policy,
          passphrase,
          kdf,
          segmentSize: byteSize(args, 'segment-size'),
          onWarning: (m) => io.err(`shardvault: warning: ${m}`),
          confirmHostKey: hostKeyConfirmer(args),
          askKeyPassphrase: keyPassphraseAsker(),
          confirmCreateFolder: folderCreator(args),
          allowInsecureHttp: args.flags.has('allow-insecure-http'),
        });
        if (!io.json) for (const f of madeFolders) io.err(`shardvault: made the folder ${f}`);
        for (const w of warnings) io.err(`shardvault: warning: ${w}`);
        const p = vault.policy;
        const summary = {
          vault: {
            id: vault.vaultId,
            data: p.data,
            total: p.total,
            threshold: p.threshold,
            replicas: p.replicas,
            segmentSize: p.segmentSize,
          },
          survives: vault.policySurvives(),
          locations: vault.locations.map((l) => ({ name: l.name, kind: l.kind, display: l.display })),
          madeFolders,
          recoveryCode,
          fingerprint: vault.keyFingerprint,
        };
        await vault.close();
        print(io, summary, () =>
          [
            `Created vault ${vault.vaultId}`,
            `  k = ${p.data} shards needed of n = ${p.total}${p.replicas > 1 ? `, ${p.replicas} copies each` : ''}; unlock needs t = ${p.threshold} locations`,
            `  survives losing ${plural(summary.survives, 'location')}; storage cost ${((p.total * p.replicas) / p.data).toFixed(2)}x`,
            `  locations: ${vault.locations.map((l) => `${l.name} (${l.display})`).join(', ')}`,
            '',
            'Recovery code (shown once; write it down and keep it apart from your passphrase):',
            `  ${recoveryCode}`,
            `Vault key fingerprint (not secret; on a new machine: open --expect-fingerprint ${summary.fingerprint ?? ''}):`,
            `  ${summary.fingerprint ?? ''}`,
          ].join('\n'),
        );
      } finally {
        await release();
      }
      return 0;
    }
    case 'open': {
      expectPositional(args, 0, 'open --location SPEC ... [--recovery]');
      const specs = args.values.get('location') ?? [];
      if (specs.length === 0) throw new UsageError('open needs at least one --location');
      warnAboutPasswords(specs, io);
      let secret: Secret;
      let newPassphrase: string | null = null;
      if (args.flags.has('recovery')) {
        secret = { recoveryCode: await readSecret('SHARDVAULT_RECOVERY_CODE', 'Recovery code') };
        newPassphrase = await readSecret('SHARDVAULT_PASSPHRASE', 'New passphrase');
        await requireStrong(newPassphrase, args);
      } else {
        secret = { passphrase: await readSecret('SHARDVAULT_PASSPHRASE', 'Passphrase') };
      }
      const dir = profileDir();
      const release = await lockProfile(dir);
      try {
        const expectFingerprint = one(args, 'expect-fingerprint');
        const vault = await Vault.attach(dir, specs, secret, newPassphrase, {
          onWarning: (m) => io.err(`shardvault: warning: ${m}`),
          confirmHostKey: hostKeyConfirmer(args),
          askKeyPassphrase: keyPassphraseAsker(),
          ...(expectFingerprint === undefined ? {} : { expectFingerprint: normalizeFingerprint(expectFingerprint) }),
          allowInsecureHttp: args.flags.has('allow-insecure-http'),
        });
        const p = vault.policy;
        const value = {
          vault: { id: vault.vaultId, data: p.data, total: p.total, threshold: p.threshold },
          files: vault.head().files.length,
          fingerprint: vault.keyFingerprint,
        };
        await vault.close();
        print(
          io,
          value,
          () =>
            `Opened vault ${value.vault.id}: ${plural(value.files, 'file')}, k = ${p.data} of n = ${p.total}, t = ${p.threshold}\n` +
            `  vault key fingerprint ${value.fingerprint ?? ''}`,
        );
      } finally {
        await release();
      }
      return 0;
    }
    case 'put': {
      expectPositional(args, 1, 'put FILE [--name NAME] [--replace] [--survive X] [--happy N]');
      const path = args.positional[0]!;
      const name = one(args, 'name') ?? nodePath.basename(path);
      const st = await fs.stat(path).catch(() => null);
      if (!st?.isFile()) throw new UsageError(`${path} is not a readable file`);
      const surviveText = one(args, 'survive');
      if (surviveText !== undefined && !/^\d{1,3}$/.test(surviveText))
        throw new UsageError('--survive takes a whole number of locations');
      const surviveArg = surviveText === undefined ? undefined : Number(surviveText);
      const happy = integer(args, 'happy', 1, 64);
      const entry = await withVault(io, args, { unlock: true }, (vault) =>
        putFile(vault, createReadStream(path, { highWaterMark: 1 << 20 }), name, {
          replace: args.flags.has('replace'),
          expectedSize: st.size,
          ...(surviveArg !== undefined ? { survive: surviveArg } : {}),
          ...(happy !== undefined ? { happy } : {}),
        }),
      );
      const signIn = entry.signIn;
      const away = entry.awaiting.filter((n) => !signIn.includes(n));
      if (signIn.length > 0)
        io.err(
          `shardvault: warning: ${signIn.join(', ')} ${signIn.length === 1 ? 'needs' : 'need'} sign-in on this device: ` +
            `${entry.name} ${survivesWords(entry)}; its shards for ${signIn.join(', ')} wait on the other locations ` +
            `and move there once signed in (shardvault location login ${signIn[0]!})`,
        );
      if (away.length > 0) {
        io.err(
          `shardvault: warning: ${away.join(', ')} ${away.length === 1 ? 'is' : 'are'} away: ${entry.name} ${survivesWords(entry)}; ` +
            `its shards for ${away.join(', ')} wait on the other locations and move there at the next put, rm or repair once back`,
        );
      }
      print(
        io,
        entry,
        () =>
          `Stored ${entry.name} (${formatBytes(entry.size)}), survives losing ${plural(entry.survives, 'location')}`,
      );
      return 0;
    }
    case 'get': {
      expectPositional(args, 1, 'get NAME [--output PATH] [--force]');
      const name = args.positional[0]!;
      const output = one(args, 'output') ?? fileBaseName(name);
      const result = await withVault(io, args, { unlock: true }, (vault) =>
        getFile(vault, name, output, { force: args.flags.has('force') }),
      );
      for (const p of result.problems)
        io.err(`shardvault: warning: shard ${p.index} on ${p.location}: ${p.kind} (${p.message}); run verify/repair`);
      print(io, { name, output: result.output, problems: result.problems }, () => `Wrote ${result.output}`);
      return 0;
    }
    case 'rm': {
      expectPositional(args, 1, 'rm NAME');
      await withVault(io, args, { unlock: true }, (vault) => removeFile(vault, args.positional[0]!));
      print(io, { removed: args.positional[0] }, () => `Removed ${args.positional[0]}`);
      return 0;
    }
    case 'ls': {
      expectPositional(args, 0, 'ls');
      const files = await withVault(io, args, { unlock: true }, (vault) => listFiles(vault));
      print(io, files, () =>
        files.length === 0
          ? 'The vault is empty.'
          : table(
              ['NAME', 'SIZE', 'HEALTH', 'SURVIVES', 'CREATED'],
              files.map((f) => [
                f.name,
                formatBytes(f.size),
                healthWords(f),
                f.survives < 0 ? '-' : `${f.survives}${untilBack(f.awaiting)}`,
                f.created,
              ]),
            ),
      );
      return 0;
    }
    case 'status': {
      expectPositional(args, 0, 'status');
      const report = await withVault(io, args, { unlock: false }, (vault) => statusReport(vault));
      print(io, report, () => humanStatus(report));
      return 0;
    }
    case 'placement': {
      expectPositional(args, 1, 'placement NAME');
      const report = await withVault(io, args, { unlock: true }, (vault) => placement(vault, args.positional[0]!));
      print(io, { name: report.name, shards: report.shards }, () =>
        [
          `${report.name}: ${healthWords(report)}, survives losing ${report.survives < 0 ? `nothing (${report.health === 'lost' ? 'lost' : 'can’t be read from here now'})` : `${plural(report.survives, 'more location', 'more locations')}${untilBack(report.awaiting)}`}`,
          table(
            ['SHARD', 'LOCATIONS'],
            report.shards.map((s) => [
              String(s.index),
              s.locations
                .map((l) => `${l.name}:${l.state}${l.stagedFor === undefined ? '' : ` (staged for ${l.stagedFor})`}`)
                .join(' '),
            ]),
          ),
        ].join('\n'),
      );
      return 0;
    }
    case 'verify': {
      expectPositional(args, 0, 'verify [--deep]');
      const report = await withVault(io, args, { unlock: true }, (vault) => verify(vault, args.flags.has('deep')));
      print(io, report, () =>
        [
          table(
            ['FILE', 'HEALTH', 'SURVIVES'],
            report.files.map((f) => [f.name, f.health, f.survives < 0 ? '-' : String(f.survives)]),
          ),
          ...report.problems.map((p) => `problem: ${p.file} shard ${p.shard ?? '-'} on ${p.location}: ${p.kind}`),
          report.ok ? 'verify: all good' : `verify: ${plural(report.problems.length, 'problem')}`,
        ].join('\n'),
      );
      return report.ok ? 0 : 6;
    }
    case 'repair': {
      expectPositional(args, 0, 'repair [--deep]');
      const report = await withVault(io, args, { unlock: true }, (vault) =>
        repair(vault, { deep: args.flags.has('deep') }),
      );
      print(io, report, () =>
        [
          table(
            ['FILE', 'BEFORE', 'AFTER', 'REBUILT', 'SURVIVES'],
            report.files.map((f) => [
              f.name,
              f.before,
              f.after,
              String(f.rebuilt),
              f.survives < 0 ? '-' : String(f.survives),
            ]),
          ),
          `key shares: ${report.keyShares}; staged shard copies moved home: ${report.moved}; manifests rewritten: ${report.manifestsWritten}; garbage collected: ${report.collected}`,
          ...report.pending.map((p) => `pending: ${p}`),
          report.ok ? 'repair: all good' : `repair: ${plural(report.pending.length, 'thing')} left to do`,
        ].join('\n'),
      );
      return report.ok ? 0 : 6;
    }
    case 'settings': {
      expectPositional(args, 0, 'settings [--happy N|default]');
      const happyText = one(args, 'happy');
      if (happyText !== undefined && happyText !== 'default' && !/^\d{1,2}$/.test(happyText))
        throw new UsageError('--happy takes a number of locations, or default');
      const settings = await withVault(io, args, { unlock: false }, async (vault) => {
        if (happyText !== undefined) await setHappy(vault, happyText === 'default' ? null : Number(happyText));
        return { happy: vault.happy, defaultHappy: vault.policy.data, locations: vault.locations.length };
      });
      print(io, settings, () =>
        settings.happy === null
          ? `happy: default: a put needs shards on k = ${settings.defaultHappy} of the ${settings.locations} locations`
          : `happy: a put needs shards on ${settings.happy} of the ${settings.locations} locations`,
      );
      return 0;
    }
    case 'location':
      return locationCommand(args, io);
    case 'drill':
      return drillCommand(args, io, (work) => withVault(io, args, { unlock: true }, work));
    case 'passphrase': {
      if (args.positional.length !== 1 || args.positional[0] !== 'change')
        throw new UsageError('usage: shardvault passphrase change [--new-recovery-code] [--weak-passphrase]');
      const newCode = args.flags.has('new-recovery-code');
      const change = await withVault(io, args, { unlock: true }, async (vault) => {
        const fromEnv = process.env['SHARDVAULT_NEW_PASSPHRASE'];
        const passphrase = await readSecret('SHARDVAULT_NEW_PASSPHRASE', 'New passphrase');
        await requireStrong(passphrase, args);
        if (!fromEnv && (await readSecret('SHARDVAULT_NEW_PASSPHRASE', 'New passphrase again')) !== passphrase)
          throw new UsageError('the passphrases differ');
        return vault.changePassphrase(passphrase, {
          newRecoveryCode: newCode,
          // Shown as soon as the shares it opens are written, before the old code is retired.
          onRecoveryCode: (code) => {
            if (!io.json) io.out(`New recovery code (shown once; the old one stops working now):\n  ${code}`);
          },
        });
      });
      print(io, change, () =>
        [
          `Passphrase changed: the key shares on ${change.reached.join(', ')} are sealed under the new one`,
          change.away.length
            ? `  ${change.away.join(', ')} ${change.away.length === 1 ? 'was' : 'were'} away: caught up at the next unlock that reaches ${change.away.length === 1 ? 'it' : 'them'}`
            : '',
          change.retired
            ? '  the old passphrase no longer unlocks'
            : '  the old key shares stay until every location holds the new ones',
        ]
          .filter(Boolean)
          .join('\n'),
      );
      return 0;
    }
    case 'log': {
      expectPositional(args, 0, 'log');
      const { requests, problems } = await withVault(io, args, { unlock: true }, (vault) => readAccessLog(vault));
      for (const p of problems) io.err(`shardvault: audit log: ${p}`);
      print(io, requests, () =>
        [
          table(
            ['TIME', 'DEVICE', 'ACTION', 'FILE OR CHANGE', 'OUTCOME', 'LOCATIONS'],
            requests.map((r) => [
              r.time,
              r.device,
              r.action,
              r.file ?? r.detail ?? '-',
              r.outcome + (r.anchored ? '' : ` (${UNANCHORED.word})`),
              r.locations.join(','),
            ]),
          ),
          ...(requests.some((r) => !r.anchored) ? [`${UNANCHORED.word}: ${UNANCHORED.explanation}`] : []),
        ].join('\n'),
      );
      return 0;
    }
    case 'demo':
      return runDemo({ size: byteSize(args, 'size'), keep: args.flags.has('keep'), json: io.json });
    case 'serve': {
      const { serve } = await import('./serve-command');
      return serve(args, io);
    }
    case 'node': {
      const { nodeCommand } = await import('./node-command');
      return nodeCommand(args, io);
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(args.command)} (see shardvault --help)`);
  }
}

async function locationCommand(args: Parsed, io: Io): Promise<number> {
  const [sub, ...rest] = args.positional;
  switch (sub) {
    case 'add': {
      if (rest.length !== 1) throw new UsageError('usage: shardvault location add SPEC');
      warnAboutPasswords(rest, io);
      const added = await withVault(io, args, { unlock: true }, (vault) => addLocation(vault, rest[0]!));
      print(
        io,
        added,
        () => `Added ${added.name} (${added.display}); the key shares were dealt again over every location`,
      );
      return 0;
    }
    case 'list': {
      if (rest.length !== 0) throw new UsageError('usage: shardvault location list');
      const list = await withVault(io, args, { unlock: false }, (vault) =>
        Promise.resolve(
          vault.locations.map((l) => ({
            name: l.name,
            kind: l.kind,
            display: l.display,
            // A location this device learned from the vault and has no credentials for yet.
            needsSignIn: vault.needsSignIn(l.id),
          })),
        ),
      );
      print(io, list, () =>
        [
          table(
            ['NAME', 'KIND', 'WHERE'],
            list.map((l) => [l.name, l.kind, l.needsSignIn ? `${l.display} (needs sign-in)` : l.display]),
          ),
          ...list
            .filter((l) => l.needsSignIn)
            .map((l) => `${l.name} needs sign-in on this device: shardvault location login ${l.name}`),
        ].join('\n'),
      );
      return 0;
    }
    case 'login':
    case 'edit': {
      const newName = one(args, 'name');
      // `location edit NAME` alone is a sign-in: only the secrets, at the address this device has.
      if (sub === 'login' || (rest.length === 1 && newName === undefined)) {
        if (rest.length !== 1 || newName !== undefined) throw new UsageError('usage: shardvault location login NAME');
        const signedIn = await withVault(io, args, { unlock: true }, (vault) => signIn(vault, rest[0]!));
        print(io, signedIn, () => `Signed in to ${signedIn.name} (${signedIn.display}) on this device`);
        return 0;
      }
      if (rest.length < 1 || rest.length > 2)
        throw new UsageError('usage: shardvault location edit NAME [SPEC] [--name NEW]');
      if (rest[1] !== undefined) warnAboutPasswords([rest[1]], io);
      const change = {
        ...(newName !== undefined ? { name: newName } : {}),
        ...(rest[1] ? { spec: rest[1] } : {}),
        allowInsecureHttp: args.flags.has('allow-insecure-http'),
      };
      const edited = await withVault(io, args, { unlock: true }, (vault) => editLocation(vault, rest[0]!, change));
      print(io, edited, () => `Location ${rest[0]} is now ${edited.name} (${edited.display})`);
      return 0;
    }
    case 'remove': {
      if (rest.length !== 1) throw new UsageError('usage: shardvault location remove NAME [--untrusted]');
      const result = await withVault(io, args, { unlock: true }, (vault) =>
        removeLocation(vault, rest[0]!, { untrusted: args.flags.has('untrusted') }),
      );
      print(io, { removed: rest[0], ...result }, () =>
        [
          `Removed ${rest[0]}: ${result.moved} shard copies moved to the other locations; key shares dealt again`,
          result.rotated ? "The vault key was rotated: the removed location's old share no longer opens anything." : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
      return 0;
    }
    case 'test': {
      if (rest.length !== 1) throw new UsageError('usage: shardvault location test NAME');
      const result = await withVault(io, args, { unlock: false }, (vault) => testLocation(vault, rest[0]!));
      print(io, result, () =>
        result.reachable
          ? `${result.name}: reachable, ${result.latencyMs} ms latency, ${formatBinary(LOCATION_PROBE_BYTES)} written, read back and deleted in ${result.roundTripMs} ms` +
            (result.freeBytes === null ? '' : `, ${formatBytes(result.freeBytes)} free`)
          : `${result.name}: NOT reachable: ${result.error ?? 'unknown'}`,
      );
      return result.reachable ? 0 : 4;
    }
    default:
      throw new UsageError(
        'usage: shardvault location add SPEC | list | edit NAME [SPEC] [--name NEW] | login NAME | remove NAME [--untrusted] | test NAME',
      );
  }
}

/**
 * `location login NAME`: asks only for what the address lacks, on a terminal: an SFTP key's
 * passphrase when the key file it names is encrypted (scripts: $SHARDVAULT_SFTP_KEY_PASSPHRASE),
 * nothing when that key opens as it is, else the password (scripts:
 * $SHARDVAULT_LOCATION_PASSWORD; empty, for SFTP: the ssh-agent and ~/.ssh keys).
 */
async function signIn(vault: Vault, name: string): Promise<{ name: string; display: string }> {
  const location = vault.locations.find((l) => l.name === name);
  if (!location) throw new UsageError(`no location named ${name}`);
  const address = addressOf(vault.profileLocations().find((e) => e.id === location.id)!);
  if (address === null)
    throw new UsageError(
      `${name} is a folder on this machine: it needs no sign-in (usage: shardvault location edit NAME [SPEC] [--name NEW])`,
    );
  if (address.hostKey && process.stderr.isTTY)
    process.stderr.write(`${name}: the server must show host key ${address.hostKey}, as pinned in the vault\n`);
  if (address.keyFile !== null) {
    const { readKeyFile } = await import('../core/storage/ssh-keys');
    const key = await readKeyFile(address.keyFile, null);
    if (key === null)
      throw new UsageError(`${name} logs in with the key ${address.keyFile}, which is not on this machine`);
    if (key.problem !== 'encrypted') return signInLocation(vault, name, null);
    const passphrase = await readSecret('SHARDVAULT_SFTP_KEY_PASSPHRASE', `Passphrase of ${address.keyFile}`);
    return signInLocation(vault, name, { keyPassphrase: passphrase });
  }
  const given = process.env['SHARDVAULT_LOCATION_PASSWORD'];
  const password =
    given ??
    (await readSecret(
      'SHARDVAULT_LOCATION_PASSWORD',
      `Password for ${name} (${location.display})${location.kind === 'sftp' ? ' (empty: the ssh-agent or ~/.ssh keys)' : ''}`,
    ));
  return signInLocation(vault, name, password ? { password } : null);
}

// Ctrl-C or a kill: remove a get's temporary output (it holds plaintext) before exiting.
// Registered first, so it runs before a server's own handler.
// The profile lock is left to the next process, which takes over a dead process's lock.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    removeAllSync();
    // A server (`serve`, `node serve`) that listens for it stops by itself and exits 0.
    if (process.listenerCount(signal) > 1) return;
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

process.exitCode = await main(process.argv.slice(2));
// Every command closes what it opened, so the process ends by itself. Should a connection be
// left open all the same (a bug), the command still exits instead of hanging after its answer;
// SHARDVAULT_DEBUG names what was left.
setTimeout(() => {
  if (process.env['SHARDVAULT_DEBUG'])
    process.stderr.write(`shardvault: debug: left open at exit: ${process.getActiveResourcesInfo().join(', ')}\n`);
  process.exit();
}, 2000).unref();
