/**
 * Electron main process: one engine (src/core/app.ts) for the profile the CLI uses, run in a
 * utility process of its own (engine-process.ts) so that a busy put never stalls this
 * process; the validated IPC in front of it, relayed; hardened windows on the app:// origin,
 * progress pushed to the renderer, and auto-lock. Keys and passphrases stay in the engine's
 * process: the renderer gets status objects only (the recovery code once, in the recovery
 * kit). Paths the renderer names are read or written only when the user picked them
 * (src/main/picked-files.ts).
 */
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BrowserWindow, app, dialog, powerMonitor, protocol, safeStorage, session, shell } from 'electron';
import { configFromEnvironment, configureEngine } from '../core/config';
import { profileDir as defaultProfileDir } from '../core/vault/profile';
import { type BridgeSettings, type CallName, events, passiveCalls, progressEvent } from '../shared/ipc';
import { IdleLock } from '../core/idle-lock';
import { appScheme } from './app-protocol';
import { startEngineProcess } from './engine-process';
import { redactCredentials } from '../shared/redact';
import { keystoreCredentials } from './credentials';
import { PickedPaths, fileHandlers } from './picked-files';
import { OpenedFiles } from './opened-files';
import { confirmedLocationHandlers } from './confirmed-locations';
import { loadSettings, saveSettings } from './settings';
import { type Handlers, serveCalls } from './validated-ipc';
import { engineHandlers } from '../shared/dispatch';
import { allWindows, createWindow, hardenContents, hardenSession, isTrustedSender } from './window';

const log = (line: string): void => console.error(`shardvault: ${redactCredentials(line)}`);

app.enableSandbox();
hardenContents();
// Before the app is ready, or the scheme gets no origin of its own (src/main/app-protocol.ts).
protocol.registerSchemesAsPrivileged([appScheme]);

// One app per profile: a second launch focuses the first window instead.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const win = allWindows()[0];
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  void app.whenReady().then(start);
}

async function start(): Promise<void> {
  hardenSession(session.defaultSession);
  // The engine reads no environment and writes to no stream itself: this front end says.
  configureEngine({ ...configFromEnvironment(process.env), warn: (m) => log(`warning: ${m}`) });
  const profileDir = defaultProfileDir(process.env);
  // The OS keystore keeps a second copy of the locations' credentials (src/main/credentials.ts).
  const keystore = keystoreCredentials(profileDir, safeStorage);
  if (keystore.problem) log(`location credentials are not kept in the OS keystore: ${keystore.problem}`);
  // The drive's requests are use of the vault: they postpone the auto-lock (set below).
  let touchIdle = (): void => undefined;
  // The engine runs in a utility process; this process relays (src/main/engine-process.ts).
  const engine = await startEngineProcess({ profileDir }, keystore.store ?? undefined, {
    onDriveActivity: () => touchIdle(),
  });
  let settings = await loadSettings(profileDir);

  /** Paths the user picked (open dialog, drop) to store, and in a save dialog to export to. */
  const inputs = new PickedPaths();
  const outputs = new PickedPaths();
  /** Files opened with the OS's application: exported copies, wiped on lock and quit. */
  const opened = new OpenedFiles(engine, (path) => shell.openPath(path));

  const lockAll = async (why: string): Promise<void> => {
    inputs.clear();
    outputs.clear();
    await opened.wipe().catch((error: unknown) => log(`wiping opened files: ${String(error)}`));
    try {
      await engine.lock();
      log(`vault locked (${why})`);
    } catch (error) {
      log(`lock failed: ${String(error)}`);
    }
    // The renderer drops everything it showed.
    for (const win of allWindows()) {
      win.webContents.send(events.locked.channel);
      win.webContents.reload();
    }
  };
  const idle = new IdleLock(settings.autoLockMinutes, () => void lockAll('idle'));
  touchIdle = () => idle.touch();
  powerMonitor.on('lock-screen', () => void lockAll('screen locked'));
  powerMonitor.on('suspend', () => void lockAll('suspend'));

  engine.onProgress((event) => {
    const payload = progressEvent.parse(event);
    for (const win of allWindows()) win.webContents.send(events.progress.channel, payload);
  });

  const current = (): BridgeSettings => ({ autoLockMinutes: settings.autoLockMinutes });
  const windowOf = (sender: Electron.WebContents): BrowserWindow | undefined =>
    BrowserWindow.fromWebContents(sender) ?? undefined;

  // The same rule as the web bridge: what a view reads to refresh itself (passiveCalls) does
  // not postpone the auto-lock; what the user asks for does.
  const run = <T>(name: CallName, work: () => Promise<T>): Promise<T> => idle.around(work, !passiveCalls.has(name));

  /** A new location's key share, asked of the user in a native dialog (confirmed-locations.ts). */
  const confirmed = confirmedLocationHandlers(engine, async (sender, question) => {
    const win = windowOf(sender);
    const options: Electron.MessageBoxOptions = {
      type: 'question',
      buttons: [question.ok, 'Cancel'],
      defaultId: 1,
      cancelId: 1,
      noLink: true,
      message: question.message,
      detail: question.detail,
    };
    const answer = win ? await dialog.showMessageBox(win, options) : await dialog.showMessageBox(options);
    return answer.response === 0;
  });

  const handlers: Handlers = {
    // Every engine call from the call table; lock and the file calls are this window's own.
    ...engineHandlers(engine, run, [
      'lock',
      'putFile',
      'putTree',
      'getFile',
      'createVault',
      'addLocation',
      'editLocation',
    ]),
    // What sends a key share somewhere new, only once the user says yes in main's own dialog.
    createVault: (req, sender) => run('createVault', () => confirmed.createVault(req, sender)),
    addLocation: (req, sender) => run('addLocation', () => confirmed.addLocation(req, sender)),
    editLocation: (req, sender) => run('editLocation', () => confirmed.editLocation(req, sender)),
    lock: async () => {
      await lockAll('asked');
    },
    getSettings: () => Promise.resolve(current()),
    setSettings: async (req) => {
      if (req.autoLockMinutes !== undefined) {
        settings = { ...settings, autoLockMinutes: req.autoLockMinutes };
        idle.setMinutes(settings.autoLockMinutes);
        await saveSettings(profileDir, settings);
      }
      return current();
    },
    activity: () => {
      idle.touch();
      return Promise.resolve();
    },
    openFile: (req) => run('openFile', () => opened.open(req.name)),
    // The recovery kit on screen, printed by Chromium to a PDF where the user says (Settings →
    // Print recovery kit). The page holds no credential (src/shared/kit.ts), so neither does the file.
    printToPdf: async (req, sender) => {
      const win = windowOf(sender);
      const options: Electron.SaveDialogOptions = {
        title: 'Save the recovery kit',
        defaultPath: join(app.getPath('documents'), basename(req.name)),
        filters: [{ name: 'PDF', extensions: ['pdf'] }],
      };
      const result = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
      if (result.canceled || !result.filePath) return false;
      const pdf = await sender.printToPDF({ printBackground: true, pageSize: 'A4' });
      await writeFile(result.filePath, pdf);
      return true;
    },
    chooseFolder: async (_req, sender) => {
      const win = windowOf(sender);
      const options: Electron.OpenDialogOptions = {
        title: 'Choose a folder for shards',
        properties: ['openDirectory', 'createDirectory'],
      };
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    ...fileHandlers({
      engine,
      inputs,
      outputs,
      openDialog: (sender, options) => {
        const win = windowOf(sender);
        return win ? dialog.showOpenDialog(win, options) : dialog.showOpenDialog(options);
      },
      saveDialog: (sender, options) => {
        const win = windowOf(sender);
        return win ? dialog.showSaveDialog(win, options) : dialog.showSaveDialog(options);
      },
      downloadsFolder: () => app.getPath('downloads'),
      run,
    }),
  };
  serveCalls(handlers, { trusted: isTrustedSender }, log);

  createWindow();
  app.on('activate', () => {
    if (allWindows().length === 0) createWindow();
  });
  app.on('window-all-closed', () => app.quit());
  let closing = false;
  app.on('will-quit', (event) => {
    if (closing) return;
    closing = true;
    event.preventDefault();
    idle.stop();
    opened
      .wipe()
      .then(() => engine.close())
      .catch((error: unknown) => log(`closing the engine: ${String(error)}`))
      .finally(() => app.quit());
  });
}
