/**
 * Which paths on this machine the desktop app reads from or writes to: only those the user
 * picked. The engine's putFile, putTree and getFile take paths; a compromised renderer could name
 * `~/.ssh/id_ed25519` to store it and read it back, or name `~/.bashrc` as an export's output.
 * So main answers putFile (and putTree, for each of its files) only for a path its own open dialog returned or the preload derived
 * from a dropped File (Electron's webUtils: a page cannot make a File for a path it names),
 * and getFile only to a path its own save dialog returned. Each path is good for one call,
 * and expires when unused.
 *
 * This file does not import electron (types aside), so the tests run it with stand-ins.
 */
import { basename, join } from 'node:path';
import type { OpenDialogOptions, OpenDialogReturnValue, SaveDialogOptions, SaveDialogReturnValue } from 'electron';
import type { ShardvaultApi } from '../shared/api';
import { type CallName, MAX_PICKED_FILES } from '../shared/ipc';
import { ForbiddenError } from './errors';
import type { Handlers } from './validated-ipc';

/** An unused pick expires this long after the last use of its batch. */
export const PICK_TTL_MS = 10 * 60_000;
/** At most this many unused picks are kept; the oldest batches go first. */
const MAX_ENTRIES = 4 * MAX_PICKED_FILES;

interface Batch {
  /** Paths not used yet; a path picked twice is there twice (one use each). */
  readonly paths: string[];
  deadline: number;
}

/**
 * An allow-list of paths, each good for one use. Paths picked together form a batch whose
 * deadline moves on each time one of them is used: the renderer stores a dialog's files one
 * after the other, so the last of a hundred large files may start long after the pick, but
 * never long after the one before it finished.
 */
export class PickedPaths {
  private batches: Batch[] = [];

  constructor(
    private readonly ttlMs = PICK_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  add(paths: readonly string[]): void {
    this.expire();
    if (paths.length === 0) return;
    this.batches.push({ paths: [...paths], deadline: this.now() + this.ttlMs });
    while (this.size > MAX_ENTRIES && this.batches.length > 1) this.batches.shift();
  }

  /**
   * Uses `path` once: false when it was never picked, was used already, or expired. On true,
   * `done` (call it when the work ends) moves the batch's deadline on again.
   */
  take(path: string): { done(): void } | null {
    this.expire();
    for (const batch of this.batches) {
      const i = batch.paths.indexOf(path);
      if (i < 0) continue;
      batch.paths.splice(i, 1);
      const touch = (): void => {
        batch.deadline = this.now() + this.ttlMs;
      };
      touch();
      this.batches = this.batches.filter((b) => b.paths.length > 0 || b === batch);
      return { done: touch };
    }
    return null;
  }

  /** Forgets every pick (the vault locked: the UI that asked for them is gone). */
  clear(): void {
    this.batches = [];
  }

  get size(): number {
    return this.batches.reduce((n, b) => n + b.paths.length, 0);
  }

  private expire(): void {
    const now = this.now();
    this.batches = this.batches.filter((b) => b.paths.length > 0 && b.deadline > now);
  }
}

export type FileCallName = 'putFile' | 'putTree' | 'getFile' | 'chooseFiles' | 'chooseSavePath' | 'offerFile';

export interface FileHandlerDeps {
  readonly engine: Pick<ShardvaultApi, 'putFile' | 'putTree' | 'getFile'>;
  /** Paths the user picked to store, and paths the user picked as an export's output. */
  readonly inputs: PickedPaths;
  readonly outputs: PickedPaths;
  /** Electron's dialogs, parented to the sender's window where there is one. */
  readonly openDialog: (sender: Electron.WebContents, options: OpenDialogOptions) => Promise<OpenDialogReturnValue>;
  readonly saveDialog: (sender: Electron.WebContents, options: SaveDialogOptions) => Promise<SaveDialogReturnValue>;
  /** Where the save dialog starts. */
  readonly downloadsFolder: () => string;
  /** Runs the engine's work under the auto-lock's bookkeeping (src/core/idle-lock.ts). */
  readonly run: <T>(name: CallName, work: () => Promise<T>) => Promise<T>;
}

/** The handlers of every call that names a path on this machine to read or write. */
export function fileHandlers(deps: FileHandlerDeps): Pick<Handlers, FileCallName> {
  const { engine, inputs, outputs, run } = deps;
  return {
    chooseFiles: async (_req, sender) => {
      const result = await deps.openDialog(sender, {
        title: 'Add files to the vault',
        properties: ['openFile', 'multiSelections'],
      });
      if (result.canceled) return [];
      const paths = result.filePaths.slice(0, MAX_PICKED_FILES);
      inputs.add(paths);
      return paths;
    },
    offerFile: (req) => {
      // Only the preload sends this, with the path webUtils found for a dropped File.
      inputs.add([req.path]);
      return Promise.resolve(req.path);
    },
    putFile: async (req) => {
      const pick = inputs.take(req.path);
      if (!pick) throw new ForbiddenError('Pick the file with “Add files…” or drop it on the window.');
      try {
        return await run('putFile', () => engine.putFile(req));
      } finally {
        pick.done();
      }
    },
    putTree: async (req) => {
      // A dropped folder: every file of it the preload offered, each good for this one use.
      const picks: { done(): void }[] = [];
      try {
        for (const f of req.files) {
          if (f.path === undefined) continue;
          const pick = inputs.take(f.path);
          if (!pick) throw new ForbiddenError('Drop the folder on the window or pick it with “Add folder…”.');
          picks.push(pick);
        }
        return await run('putTree', () => engine.putTree(req));
      } finally {
        for (const pick of picks) pick.done();
      }
    },
    chooseSavePath: async (req, sender) => {
      const result = await deps.saveDialog(sender, {
        title: `Export ${req.name}`,
        defaultPath: join(deps.downloadsFolder(), basename(req.name)),
      });
      if (result.canceled || !result.filePath) return null;
      outputs.add([result.filePath]);
      return result.filePath;
    },
    getFile: async (req) => {
      const pick = outputs.take(req.output);
      if (!pick) throw new ForbiddenError('Choose where to save the file in the save dialog.');
      try {
        return await run('getFile', () => engine.getFile(req));
      } finally {
        pick.done();
      }
    },
  };
}
