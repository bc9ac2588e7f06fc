/**
 * The window, hardened (Bitwarden's window.main.ts, Electron's security checklist): a
 * sandboxed renderer with context isolation and no Node, a strict CSP in the page, no new
 * windows, no navigation, no webviews, no permissions, and no network but our own page.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BrowserWindow, type IpcMainInvokeEvent, type Session, app } from 'electron';

const rendererIndex = join(import.meta.dirname, '../renderer/index.html');
const devUrl = app.isPackaged ? undefined : process.env['ELECTRON_RENDERER_URL'] || undefined;

/** The one page our windows show, as the frame reports its URL. */
const pageUrl = devUrl ? new URL(devUrl) : pathToFileURL(rendererIndex);

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
  if (devUrl) void win.loadURL(devUrl);
  else void win.loadFile(rendererIndex);
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

/** No permission prompts (camera, notifications, …) and no request leaves for the network. */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onBeforeRequest((details, callback) => {
    const url = new URL(details.url);
    const ours =
      url.protocol === 'file:' ||
      url.protocol === 'devtools:' ||
      url.protocol === 'data:' ||
      (devUrl !== undefined && url.origin === new URL(devUrl).origin);
    callback({ cancel: !ours });
  });
}

/** The sender check of every IPC call: our window's main frame, showing our page. */
export function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false; // destroyed, or a sub-frame
  if (!windows.has(event.sender.id) || frame !== event.sender.mainFrame) return false;
  let url: URL;
  try {
    url = new URL(frame.url);
  } catch {
    return false;
  }
  return devUrl
    ? url.origin === pageUrl.origin
    : url.protocol === 'file:' && decodeURIComponent(url.pathname) === decodeURIComponent(pageUrl.pathname);
}

export function allWindows(): BrowserWindow[] {
  return BrowserWindow.getAllWindows().filter((w) => windows.has(w.webContents.id));
}
