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
export function healthWords(file: {
  readonly health: string;
  readonly awaiting: readonly string[];
  readonly signIn: readonly string[];
}): string {
  if (file.health !== 'unreachable') return file.health;
  if (file.signIn.length > 0) return `needs sign-in for ${andList(file.signIn)}`;
  return `unreachable${untilBack(file.awaiting)}`;
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
