/**
 * Who answers SIGINT and SIGTERM. By default the CLI exits at once (130 or 143) after removing
 * a get's plaintext temporary file (main.ts); a command that runs until stopped (`mount`)
 * takes the signals over, so it can close what it serves and exit 0.
 */
export const signals = { takenOver: false };
