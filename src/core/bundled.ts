/**
 * Modules the build puts beside the engine's code (out/cli/*.mjs, out/main/*.js): the seal
 * worker, the engine host. Running from source they are not there, and callers fall back to
 * doing the work in-process.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The first of `names` that exists beside the module at `from` (its import.meta.url), or null. */
export function bundledBeside(from: string, names: readonly string[]): string | null {
  for (const name of names) {
    try {
      const path = fileURLToPath(new URL(name, from));
      if (existsSync(path)) return path;
    } catch {
      return null;
    }
  }
  return null;
}
