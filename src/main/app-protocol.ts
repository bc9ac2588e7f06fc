/**
 * The page's own origin, `app://shardvault`, instead of `file://` (Electron's security
 * checklist, item 18). Under `file://`, the CSP's 'self' and every file-to-file rule cover
 * the whole disk; here 'self' means the built renderer folder and nothing else. The handler
 * serves regular files under that folder only: every path segment is decoded and refused if
 * it could climb (`..`, encoded slashes or backslashes, NUL, dot-files), the result is
 * resolved through symlinks and must still lie inside the folder, the extension must be a
 * known type, and anything else (another host, another method) is a 404.
 *
 * The scheme is registered `standard` (relative URLs and an origin of its own) and `secure`
 * (a secure context), and nothing more: no fetch from pages, no CORS (so no other origin
 * can read it), no CSP bypass, no service workers.
 *
 * This file does not import electron (types aside), so the tests run it without Electron.
 */
// fs.promises looked up at each call, not its functions bound at import: in a packaged app
// the renderer folder is inside app.asar, which Electron reads through the fs.promises
// functions it replaces at startup.
import { promises as fsp } from 'node:fs';
import { extname, isAbsolute, join, relative, sep } from 'node:path';
import type { CustomScheme } from 'electron';

export const APP_SCHEME = 'app';
export const APP_HOST = 'shardvault';
/** The one page our windows show. */
export const APP_PAGE = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** For protocol.registerSchemesAsPrivileged, before the app is ready. */
export const appScheme: CustomScheme = { scheme: APP_SCHEME, privileges: { standard: true, secure: true } };

/**
 * Sent with the page on top of the CSP in its <meta> (which the web mode shares, and which
 * needs connect-src 'self' for its HTTP bridge): the desktop page fetches nothing, may not be
 * framed, and loads nothing but its own files. Both policies apply; the stricter wins.
 */
export const APP_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** What the handler needs of a request (a fetch Request has it). */
export interface AppRequest {
  readonly url: string;
  readonly method: string;
}

/** The protocol.handle handler for `app:`, serving files under `rendererDir`. */
export function appProtocolHandler(rendererDir: string): (request: AppRequest) => Promise<Response> {
  // The folder itself may be reached through a symlink (a packaged app's path); what counts
  // is where it really is.
  let root: Promise<string> | null = null;
  return async (request) => {
    root ??= fsp.realpath(rendererDir);
    if (request.method !== 'GET' && request.method !== 'HEAD') return notFound();
    const file = await resolveInside(await root.catch(() => null), request.url);
    if (!file) return notFound();
    const type = CONTENT_TYPES[extname(file).toLowerCase()];
    if (!type) return notFound();
    const body = await fsp.readFile(file).catch(() => null);
    if (!body) return notFound();
    const headers: Record<string, string> = {
      'content-type': type,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'cross-origin-resource-policy': 'same-origin',
    };
    if (type.startsWith('text/html')) headers['content-security-policy'] = APP_CONTENT_SECURITY_POLICY;
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
  };
}

function notFound(): Response {
  return new Response('not found', {
    status: 404,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
  });
}

/** The real path of the file `url` names under `root`, or null. */
async function resolveInside(root: string | null, url: string): Promise<string | null> {
  if (!root) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) return null;
  if (parsed.username || parsed.password || parsed.port) return null;
  const pathname = parsed.pathname === '/' ? '/index.html' : parsed.pathname;
  if (!pathname.startsWith('/')) return null;
  const parts: string[] = [];
  for (const raw of pathname.slice(1).split('/')) {
    let part: string;
    try {
      part = decodeURIComponent(raw);
    } catch {
      return null; // malformed escape
    }
    // `..` and `.` (decoded or not), separators smuggled in escapes, NUL, Windows drive or
    // stream syntax, and dot-files: none of these name a file of the built renderer.
    if (part === '' || part.startsWith('.') || /[/\\\0:]/.test(part)) return null;
    parts.push(part);
  }
  let real: string;
  try {
    real = await fsp.realpath(join(root, ...parts));
  } catch {
    return null; // missing, or a dangling link
  }
  const rel = relative(root, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null; // a link out
  const info = await fsp.stat(real).catch(() => null);
  return info?.isFile() ? real : null;
}

/**
 * Is `frameUrl` our page? In production the app:// page (its path exactly; a query or
 * fragment is the page's own business); in development the dev server's origin. Node's URL
 * gives a non-special scheme like app: the origin "null", so scheme and host are compared.
 */
export function isAppPage(frameUrl: string, devUrl: string | undefined): boolean {
  let url: URL;
  try {
    url = new URL(frameUrl);
  } catch {
    return false;
  }
  if (devUrl !== undefined) return url.origin === new URL(devUrl).origin;
  const page = new URL(APP_PAGE);
  return url.protocol === page.protocol && url.host === page.host && url.pathname === page.pathname;
}

/**
 * May the page's session send this request? Our own scheme and host, devtools, data: URLs
 * (the icon in index.html), and in development the dev server; nothing else (no file:, no
 * network).
 */
export function isAppRequest(requestUrl: string, devUrl: string | undefined): boolean {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return false;
  }
  if (url.protocol === `${APP_SCHEME}:`) return url.host === APP_HOST;
  if (url.protocol === 'devtools:' || url.protocol === 'data:') return true;
  return devUrl !== undefined && url.origin === new URL(devUrl).origin;
}
