/**
 * Words every front end uses for the same fact (the CLI, the desktop app and the web UI),
 * defined once here so they can't drift apart. Plain TypeScript: no Node, no DOM.
 */

/** An access request no vault head vouches for yet (AccessRequest.anchored = false). */
export const UNANCHORED = {
  word: 'unanchored',
  explanation:
    'no vault head vouches for this entry yet (a failed unlock, or a read since the last change); ' +
    'the next change to the vault anchors it. Until then a location could drop it unseen; ' +
    'an anchored entry cannot change or go missing unnoticed.',
} as const;

/** " until usb returns", " until usb and nas return"; empty when nothing is away. */
export function untilBack(awaiting: readonly string[]): string {
  if (awaiting.length === 0) return '';
  const names =
    awaiting.length === 1 ? awaiting[0]! : `${awaiting.slice(0, -1).join(', ')} and ${awaiting[awaiting.length - 1]!}`;
  return ` until ${names} ${awaiting.length === 1 ? 'returns' : 'return'}`;
}

/** What a file survives, in words: "survives 1 more loss", "survives no more losses until usb returns". */
export function survivesWords(file: { readonly survives: number; readonly awaiting: readonly string[] }): string {
  if (file.survives < 0) return 'cannot be read now';
  const losses =
    file.survives === 0 ? 'no more losses' : `${file.survives} more ${file.survives === 1 ? 'loss' : 'losses'}`;
  return `survives ${losses}${untilBack(file.awaiting)}`;
}

/** "nas", "nas and usb", "a, b and c". */
export function andList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
}

/**
 * A file's health in words: its Health, except where it can't be read from here now only
 * because locations are out of reach ("needs sign-in for nas", "unreachable until usb returns").
 */
export function healthWords(
  file: {
    readonly health: string;
    readonly awaiting: readonly string[];
    readonly signIn: readonly string[];
  },
  /** The names of the vault's node locations: a device enrols with a node, never signs in. */
  nodes: ReadonlySet<string> = new Set(),
): string {
  if (file.health !== 'unreachable') return file.health;
  if (file.signIn.length > 0) {
    const enrol = file.signIn.filter((n) => nodes.has(n));
    const signIn = file.signIn.filter((n) => !nodes.has(n));
    return [
      ...(signIn.length > 0 ? [`needs sign-in for ${andList(signIn)}`] : []),
      ...(enrol.length > 0 ? [`${NEEDS_ENROLMENT.word} with ${andList(enrol)}`] : []),
    ].join(' and ');
  }
  return `unreachable${untilBack(file.awaiting)}`;
}

/** A node location this device has no key for yet (a new machine): it is not lost, and not
 * merely offline; the node must enrol this device first. */
export const NEEDS_ENROLMENT = {
  word: 'needs enrolment',
  explanation:
    'this device is not enrolled with the node yet: on the node run `shardvault node new-code --dir DIR`, ' +
    'then give this device the line it prints (Edit… on the location, or `shardvault location edit NAME LINE`)',
} as const;

/** The meaning of error code `approval` (exit 7), in a user's words. */
export const APPROVAL_REFUSED = 'approval pending or denied';

/**
 * What a guarded file needs on this device, in words, from StatusReport.guard: "opens with 2
 * of 3 nodes", "needs enrolment with 2 of the vault's nodes", "only 1 of the 2 nodes it needs
 * answers now"; with approvals, "and 1 guardian approval". `tone`: whether it opens now.
 */
export function guardWords(guard: {
  readonly threshold: number;
  readonly nodes: number;
  readonly enrolled: number;
  readonly ready: number;
  readonly approvals: number;
}): { words: string; opens: boolean; enrol: boolean } {
  const approvals =
    guard.approvals === 0 ? '' : ` and ${guard.approvals} guardian ${guard.approvals === 1 ? 'approval' : 'approvals'}`;
  if (guard.enrolled < guard.threshold)
    return {
      words: `${NEEDS_ENROLMENT.word}: this device is enrolled with ${guard.enrolled} of the ${guard.threshold} nodes it needs`,
      opens: false,
      enrol: true,
    };
  if (guard.ready < guard.threshold)
    return {
      words: `only ${guard.ready} of the ${guard.threshold} nodes it needs ${guard.ready === 1 ? 'answers' : 'answer'} now`,
      opens: false,
      enrol: false,
    };
  return { words: `opens with ${guard.threshold} of ${guard.nodes} nodes${approvals}`, opens: true, enrol: false };
}

/**
 * The recovery drill's verdict in plain words, as the CLI prints it, the dialog shows it and
 * the access log records it: "If usb and nas were gone: every file still reads, the vault
 * still unlocks", or what would be lost. `maxNames` bounds the files named (the log entry).
 */
export function drillWords(
  report: {
    readonly lost: readonly string[];
    readonly lostFiles: readonly string[];
    readonly unlock: { readonly shares: number; readonly threshold: number; readonly unlocks: boolean };
  },
  maxNames = Number.MAX_SAFE_INTEGER,
): string {
  const gone = report.lost.length === 0 ? 'With every location there' : `If ${andList(report.lost)} were gone`;
  const n = report.lostFiles.length;
  const shown = report.lostFiles.slice(0, maxNames);
  const named =
    shown.length === 0 ? '' : `: ${shown.join(', ')}${n > shown.length ? `, and ${n - shown.length} more` : ''}`;
  const files = n === 0 ? 'every file still reads' : `${n} ${n === 1 ? 'file' : 'files'} would be lost${named}`;
  const { shares, threshold } = report.unlock;
  const unlock = report.unlock.unlocks
    ? 'the vault still unlocks'
    : shares >= threshold
      ? 'the vault would not unlock: no remaining location holds a vault head'
      : `the vault would not unlock: ${shares} of the ${threshold} key shares it needs would be left`;
  return `${gone}: ${files}${n === 0 ? ',' : ';'} ${unlock}`;
}

/**
 * Locations (or, with failure domains, domains) a policy of "survive X, secret against Y"
 * needs: t = Y + 1 must still be reachable after losing X, and never fewer than two. The
 * engine refuses fewer (vault/policy.ts); the UI's presets say it.
 */
export function locationsNeeded(survive: number, secretAgainst: number): number {
  return Math.max(2, survive + secretAgainst + 1);
}

/**
 * After a location is added: when the vault writes fewer shards per file (n) than it has
 * locations, the policy that would use them all, keeping k and t (more parity, the same
 * secrecy), and the command that sets it; null when n already covers every location or the
 * vault keeps copies (replicas), which `policy set` does not widen.
 */
export function widerPolicy(
  policy: { readonly data: number; readonly total: number; readonly threshold: number; readonly replicas: number },
  locations: number,
): { data: number; total: number; threshold: number; command: string } | null {
  if (policy.total >= locations || policy.replicas !== 1) return null;
  const { data, threshold } = policy;
  return {
    data,
    total: locations,
    threshold,
    command: `shardvault policy set --data ${data} --total ${locations} --threshold ${threshold}`,
  };
}
