/**
 * Files that must not outlive an interrupted process: the temporary output of a get, the
 * recovery drill's folder of files read back, and the web bridge's folder of a download
 * waiting to be fetched (they hold plaintext). Front ends call `removeAllSync` from their
 * signal handlers; code that creates such a file registers it and unregisters it once
 * renamed or removed.
 */
import { rmSync } from 'node:fs';

const pending = new Set<string>();

export function registerTemporary(path: string): void {
  pending.add(path);
}

export function unregisterTemporary(path: string): void {
  pending.delete(path);
}

/** Synchronous, so it can run in a signal handler right before the process exits. */
export function removeAllSync(): void {
  for (const path of pending) {
    try {
      rmSync(path, { force: true, recursive: true });
    } catch {
      // nothing more can be done on the way out
    }
  }
  pending.clear();
}
