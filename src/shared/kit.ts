/**
 * The printable recovery kit: one page that lets its owner, or someone they trust, get the
 * vault back on a new machine. The engine gathers the facts (core/kit.ts); this file is the
 * one place that says them in words, for the CLI's text (`shardvault kit`) and the app's
 * printable page alike. It never holds a credential: no passphrase, no location password or
 * key, no SPEC; the recovery code only when the user typed it to have it printed (checked).
 */
import { plural } from './format';

export interface KitLocation {
  readonly name: string;
  readonly kind: string;
  /** Where it is, without credentials. */
  readonly display: string;
  /** Its failure domain, or null. */
  readonly domain: string | null;
}

export interface KitFacts {
  readonly vaultId: string;
  /** The vault key fingerprint (not secret), or null before this device pinned the key. */
  readonly fingerprint: string | null;
  /** When the kit was made (ISO time). */
  readonly made: string;
  readonly data: number;
  readonly total: number;
  readonly threshold: number;
  readonly replicas: number;
  /** How many locations every file survives losing. */
  readonly survives: number;
  /** How many failure domains it survives losing; null when no two locations share one. */
  readonly survivesDomains: number | null;
  readonly locations: readonly KitLocation[];
  /** Only when the user asked for it and it checked against the vault; else null (a blank). */
  readonly recoveryCode: string | null;
}

export const KIT_TITLE = 'Shardvault recovery kit';

/** The policy in plain words, a sentence a line. */
export function kitPolicyWords(k: KitFacts): string[] {
  const copies = k.replicas > 1 ? `, each kept in ${k.replicas} copies` : '';
  // Key shares are dealt one per domain when the domains are at least t (core domains.ts shareGroups).
  const domains = new Set(k.locations.map((l, i) => l.domain ?? `\0${i}`)).size;
  const perDomain = k.survivesDomains !== null && domains >= k.threshold;
  const domainLoss =
    k.survivesDomains === null
      ? '.'
      : k.survivesDomains === 0
        ? ', but not the loss of a whole domain (locations that fail together).'
        : ` or any ${plural(k.survivesDomains, 'domain')} (locations that fail together).`;
  return [
    `Each file is split into ${k.total} shards${copies}; any ${k.data} of them give the file back.`,
    `The vault survives losing any ${plural(k.survives, 'location')}${domainLoss}`,
    `Unlocking needs key shares from ${k.threshold} locations${perDomain ? ' in different domains' : ''}, ` +
      `so fewer than ${k.threshold} learn nothing about the key.`,
  ];
}

/** What to do on a new machine, step by step. */
export function kitSteps(k: KitFacts): string[] {
  return [
    'Install Shardvault on the new machine.',
    `Make sure you can reach at least ${k.threshold} of the locations below, with their passwords or keys ` +
      '(they are not in this kit: you keep them elsewhere, or ask whoever runs the server).',
    'In the app choose "Open an existing vault" and give those locations; on the command line run ' +
      '`shardvault open --location SPEC --location SPEC ... --expect-fingerprint FINGERPRINT`.',
    'Check that the vault id and the fingerprint shown match this page before going on.',
    'Unlock with your passphrase. Forgot it? Use the recovery code (app: "I forgot my passphrase"; ' +
      'command line: add --recovery) and choose a new passphrase.',
    'Run a check (app: "Verify"; command line: `shardvault verify`), then sign in to any other locations ' +
      '(`shardvault location login NAME`).',
  ];
}

const BLANK = '____-____-____-____-____-____-____-____';

/** The kit as plain text (the CLI prints it; it fits one page). */
export function kitText(k: KitFacts): string {
  const width = Math.max(4, ...k.locations.map((l) => l.name.length));
  const lines = [
    KIT_TITLE.toUpperCase(),
    `Made ${k.made.slice(0, 10)}. Keep it with your papers, apart from your passphrase.`,
    '',
    `Vault id:               ${k.vaultId}`,
    `Vault key fingerprint:  ${k.fingerprint ?? '(unlock once on this device to print it)'}`,
    '',
    'Where the vault lives:',
    ...k.locations.map(
      (l) =>
        `  ${l.name.padEnd(width)}  ${l.kind.padEnd(6)}  ${l.display}${l.domain ? `   [domain: ${l.domain}]` : ''}`,
    ),
    '',
    'The policy:',
    ...kitPolicyWords(k).map((s) => `  ${s}`),
    '',
    'On a new machine:',
    ...kitSteps(k).map((s, i) => `  ${i + 1}. ${s}`),
    '',
    'Recovery code (written by hand; it opens the vault without the passphrase):',
    `  ${k.recoveryCode ?? BLANK}`,
  ];
  return lines.join('\n');
}
