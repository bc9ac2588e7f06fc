// The desktop app's own settings (auto-lock), kept beside the profile the CLI shares. Not
// secret: a tampered file can only change when the vault locks itself.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_AUTO_LOCK_MINUTES, integer, object, optional } from '../shared/ipc';

const FILE = 'desktop-settings.json';
const stored = object({ autoLockMinutes: optional(integer({ max: 24 * 60 })) }, 'drop');

export interface DesktopSettings {
  autoLockMinutes: number;
}

export async function loadSettings(profileDir: string): Promise<DesktopSettings> {
  try {
    const parsed = stored.parse(JSON.parse(await readFile(join(profileDir, FILE), 'utf8')));
    return { autoLockMinutes: parsed.autoLockMinutes ?? DEFAULT_AUTO_LOCK_MINUTES };
  } catch {
    return { autoLockMinutes: DEFAULT_AUTO_LOCK_MINUTES };
  }
}

export async function saveSettings(profileDir: string, settings: DesktopSettings): Promise<void> {
  const path = join(profileDir, FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}
