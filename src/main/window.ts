/**
 * The window, hardened (Bitwarden's window.main.ts, Electron's security checklist; the list,
 * item by item, is in docs/SECURITY.md): a sandboxed renderer with context isolation and no
 * Node, served from the app's own origin (app://shardvault, src/main/app-protocol.ts) with a
 * strict CSP, no new windows, no navigation, no webviews, no permissions, and no network but
 * our own page.
 */
import { join } from 'node:path';
import { BrowserWindow, type IpcMainInvokeEvent, type Session, app } from 'electron';
import { APP_PAGE, APP_SCHEME, appProtocolHandler, isAppPage, isAppRequest } from './app-protocol';

/** The built renderer: all the app:// origin serves. */
const rendererDir = join(import.meta.dirname, '../renderer');
/** electron-vite's dev server, while developing (never in a packaged app). */
const devUrl = app.isPackaged ? undefined : process.env['ELECTRON_RENDERER_URL'] || undefined;

const windows = new Set<number>();

export function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1180,
    height: 800,
    minWidth: 720,
    minHeight: 520,
    show: false,
    title: 'Shardvault',
    backgroundColor: '#11151c',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
    },
  });
  const id = win.webContents.id;
  windows.add(id);
  win.on('closed', () => windows.delete(id));
  win.once('ready-to-show', () => win.show());
  void win.loadURL(devUrl ?? APP_PAGE);
  return win;
}

/** Applies to every web contents the app ever makes, windows or not. */
export function hardenContents(): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
}

/**
 * The app:// origin served from the built renderer, no permission prompts (camera,
 * notifications, USB, …), and no request leaves for the network or the disk (file:).
 */
export function hardenSession(session: Session): void {
  session.protocol.handle(APP_SCHEME, appProtocolHandler(rendererDir));
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  session.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isAppRequest(details.url, devUrl) });
  });
}

/** The sender check of every IPC call: our window's main frame, showing our page. */
export function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false; // destroyed, or a sub-frame
  if (!windows.has(event.sender.id) || frame !== event.sender.mainFrame) return false;
  return isAppPage(frame.url, devUrl);
}

export function allWindows(): BrowserWindow[] {
  return BrowserWindow.getAllWindows().filter((w) => windows.has(w.webContents.id));
}
