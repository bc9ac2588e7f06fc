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
