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
function andList(names: readonly string[]): string {
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
