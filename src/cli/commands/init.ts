/** `shardvault init`: a new vault over the given locations, this profile its first device. */
import { plural } from '../../shared/format';
import { KDF_LIMITS, MIN_NEW_KDF_LOGN, newVaultKdf, type KdfParams } from '../../core/crypto/kdf';
import { UsageError } from '../../core/errors';
import { hasSharedDomain } from '../../core/vault/domains';
import { lockProfile, profileDir } from '../../core/vault/profile';
import { policySummary } from '../../core/vault/status';
import { Vault } from '../../core/vault/vault';
import { byteSize, integer, type Parsed } from '../args';
import { expectArguments, type Run } from '../command';
import {
  folderCreator,
  hostKeyConfirmer,
  keyPassphraseAsker,
  print,
  requireStrong,
  warnAboutPasswords,
  warner,
  type Io,
} from '../context';
import { readSecret } from '../prompt';

export const init: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
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
  const dir = profileDir(process.env);
  const release = await lockProfile(dir);
  try {
    const { vault, recoveryCode, warnings, madeFolders } = await Vault.create(dir, {
      locations,
      domains: domainsOf(args),
      policy,
      passphrase,
      kdf,
      segmentSize: byteSize(args, 'segment-size'),
      onWarning: warner(io),
      confirmHostKey: hostKeyConfirmer(args),
      askKeyPassphrase: keyPassphraseAsker(),
      confirmCreateFolder: folderCreator(args),
      allowInsecureHttp: args.flags.has('allow-insecure-http'),
    });
    if (!io.json) for (const f of madeFolders) io.err(`shardvault: made the folder ${f}`);
    for (const w of warnings) io.err(`shardvault: warning: ${w}`);
    const p = vault.policy;
    const summary = {
      vault: policySummary(vault),
      survives: vault.policySurvives(),
      // How many failure domains, when two locations share one (else null: domains change nothing).
      survivesDomains: hasSharedDomain(vault.domainLocations()) ? vault.domainsSurvive() : null,
      locations: vault.domainLocations().map((d, i) => ({
        name: d.name,
        kind: vault.locations[i]!.kind,
        display: vault.locations[i]!.display,
        domain: d.domain ?? null,
      })),
      madeFolders,
      recoveryCode,
      fingerprint: vault.keyFingerprint,
    };
    await vault.close();
    print(io, summary, () =>
      [
        `Created vault ${vault.vaultId}`,
        `  k = ${p.data} shards needed of n = ${p.total}${p.replicas > 1 ? `, ${p.replicas} copies each` : ''}; unlock needs t = ${p.threshold} locations`,
        `  survives losing ${plural(summary.survives, 'location')}${summary.survivesDomains === null ? '' : ` or ${plural(summary.survivesDomains, 'domain')}`}; storage cost ${((p.total * p.replicas) / p.data).toFixed(2)}x`,
        `  locations: ${summary.locations.map((l) => `${l.name} (${l.display}${l.domain === null ? '' : `; domain ${l.domain}`})`).join(', ')}`,
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
};

/** `--domain NAME=DOMAIN` (repeatable): the failure domain of the location named NAME. */
function domainsOf(args: Parsed): Record<string, string> {
  const out: Record<string, string> = {};
  for (const given of args.values.get('domain') ?? []) {
    const eq = given.indexOf('=');
    if (eq < 1)
      throw new UsageError(`--domain ${given}: give NAME=DOMAIN (NAME: a location's #NAME or loc1, loc2, ...)`);
    const name = given.slice(0, eq);
    if (name in out) throw new UsageError(`--domain gives ${name} twice`);
    out[name] = given.slice(eq + 1);
  }
  return out;
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
