/**
 * The desktop app's copy of the locations' credentials, sealed with Electron's safeStorage
 * (the OS keystore: Keychain, DPAPI, libsecret/kwallet), so that the locked app can show
 * whether password-protected locations are reachable before the passphrase is typed.
 *
 * It wraps, never replaces: the profile keeps its own copy sealed under the passphrase, which
 * the CLI, a new machine and recovery use, so a lost or reset keystore loses nothing.
 * Linux's 'basic_text' backend (no keystore found: a key written in Chromium's source) is
 * refused: there the app keeps no copy, and such locations show "unlock first" while locked.
 *
 * This file does not import electron, so the engine's tests can run it against a stand-in.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CredentialStore } from '../core/app';
import type { LocationSecrets } from '../core/storage/open';

export const CREDENTIALS_FILE = 'desktop-credentials.bin';

/** The parts of Electron's `safeStorage` used here. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only. */
  getSelectedStorageBackend?(): string;
}

/** Why the OS keystore can't be used, or null when it can. */
export function keystoreProblem(storage: SafeStorageLike, platform: NodeJS.Platform): string | null {
  if (!storage.isEncryptionAvailable()) return 'no OS keystore is available';
  if (platform === 'linux') {
    const backend = storage.getSelectedStorageBackend?.() ?? 'unknown';
    if (backend === 'basic_text' || backend === 'unknown') {
      return `the OS keystore backend is ${backend}: no secret service (gnome-keyring, kwallet) was found`;
    }
  }
  return null;
}

const MAX_FILE = 1 << 20;
const ID = /^[0-9a-f]{32}$/;

/** A CredentialStore in the profile folder, sealed by `storage`; null (and why) when it can't be used. */
export function keystoreCredentials(
  profileDir: string,
  storage: SafeStorageLike,
  platform: NodeJS.Platform = process.platform,
): { store: CredentialStore; problem: null } | { store: null; problem: string } {
  const problem = keystoreProblem(storage, platform);
  if (problem) return { store: null, problem };
  const path = join(profileDir, CREDENTIALS_FILE);
  return {
    problem: null,
    store: {
      async load() {
        let sealed: Buffer;
        try {
          sealed = await readFile(path);
        } catch {
          return null;
        }
        if (sealed.length > MAX_FILE) return null;
        try {
          return parseCredentials(storage.decryptString(sealed));
        } catch {
          // Another user's keystore, a reset one, or a damaged file: it is only a copy.
          await rm(path, { force: true });
          return null;
        }
      },
      async save(credentials) {
        if (credentials.size === 0) {
          await rm(path, { force: true });
          return;
        }
        const body = JSON.stringify({ version: 1, locations: Object.fromEntries(credentials) });
        await writeFile(`${path}.tmp`, storage.encryptString(body), { mode: 0o600 });
        await rename(`${path}.tmp`, path);
      },
    },
  };
}

/** The stored body, checked strictly: a keystore can be shared with other programs. */
function parseCredentials(text: string): ReadonlyMap<string, LocationSecrets> {
  const body = JSON.parse(text) as unknown;
  if (typeof body !== 'object' || body === null) throw new TypeError('not an object');
  const { version, locations } = body as { version?: unknown; locations?: unknown };
  if (version !== 1 || typeof locations !== 'object' || locations === null) throw new TypeError('unknown version');
  const out = new Map<string, LocationSecrets>();
  for (const [id, value] of Object.entries(locations)) {
    if (!ID.test(id) || typeof value !== 'object' || value === null) throw new TypeError('bad entry');
    const { password, keyPassphrase, ...rest } = value as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new TypeError('unknown field');
    if (password !== undefined && typeof password !== 'string') throw new TypeError('bad password');
    if (keyPassphrase !== undefined && typeof keyPassphrase !== 'string') throw new TypeError('bad key passphrase');
    out.set(id, {
      ...(password !== undefined ? { password } : {}),
      ...(keyPassphrase !== undefined ? { keyPassphrase } : {}),
    });
  }
  return out;
}
