/**
 * "Open" in the desktop app: the engine exports the file, verified, into a private folder of
 * this app's (mode 0700, under the OS's temporary folder) and the OS's default application
 * opens it there; a program (a name the system would run: isProgramName) is refused, before
 * anything is exported. The plaintext stays until the vault locks or the app quits, when every such
 * folder is wiped; a crash leaves it to the OS's temporary-folder cleanup (docs/SECURITY.md).
 *
 * This file does not import electron (types aside), so a test can run it with stand-ins.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShardvaultApi } from '../shared/api';
import { fileBaseName, isProgramName } from '../shared/file-name';
import { registerTemporary, unregisterTemporary } from '../core/cleanup';
import { ForbiddenError } from './errors';

export class OpenedFiles {
  private readonly folders = new Set<string>();

  constructor(
    private readonly engine: Pick<ShardvaultApi, 'getFile'>,
    /** Electron's shell.openPath: '' when the OS opened it, else why not. */
    private readonly openPath: (path: string) => Promise<string>,
  ) {}

  async open(name: string): Promise<void> {
    // The system runs a program rather than open it: a page that could rename a file and ask
    // to open it would start any stored bytes, without a download's warnings (SECURITY.md).
    if (isProgramName(name))
      throw new ForbiddenError(
        `${fileBaseName(name)} is a program: the system would run it, not open it. Export it, and run it yourself if you mean to.`,
      );
    const folder = await mkdtemp(join(tmpdir(), 'shardvault-open-'));
    this.folders.add(folder);
    registerTemporary(folder);
    const output = join(folder, fileBaseName(name));
    await this.engine.getFile({ name, output });
    const problem = await this.openPath(output);
    if (problem) throw new Error(`the file could not be opened: ${problem}`);
  }

  /** Removes every exported copy (on lock and quit). */
  async wipe(): Promise<void> {
    const folders = [...this.folders];
    this.folders.clear();
    await Promise.all(
      folders.map(async (f) => {
        await rm(f, { recursive: true, force: true });
        unregisterTemporary(f);
      }),
    );
  }
}
