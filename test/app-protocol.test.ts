// The desktop page's own origin, app://shardvault (src/main/app-protocol.ts). Electron can't
// run here, so the protocol.handle handler is called as Electron would call it, with a
// fetch Request, over a folder laid out like the built renderer, with a secret file beside it
// and links that point out of it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_CONTENT_SECURITY_POLICY,
  APP_PAGE,
  appProtocolHandler,
  appScheme,
  isAppPage,
  isAppRequest,
} from '../src/main/app-protocol';

const SECRET = 'the private key the page must never read';
let root: string;
let renderer: string;
let handle: (request: { url: string; method: string }) => Promise<Response>;

const get = (url: string, method = 'GET'): Promise<Response> => handle({ url, method });

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'shardvault-protocol-'));
  renderer = join(root, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  mkdirSync(join(root, 'outside'));
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Shardvault</title>');
  writeFileSync(join(renderer, 'assets', 'index-abc.js'), 'console.log("app")');
  writeFileSync(join(renderer, 'assets', 'index-abc.css'), 'body{}');
  writeFileSync(join(renderer, 'assets', 'font.woff2'), Buffer.from([0x77, 0x4f, 0x46, 0x32]));
  writeFileSync(join(renderer, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(renderer, 'assets', 'notes.unknown'), 'no type for this');
  writeFileSync(join(renderer, '.hidden.js'), 'a dot-file');
  writeFileSync(join(root, 'outside', 'secret.txt'), SECRET);
  writeFileSync(join(root, 'outside', 'secret.js'), SECRET);
  // Links out of the folder: to a file, and to a folder.
  symlinkSync(join(root, 'outside', 'secret.js'), join(renderer, 'assets', 'leak.js'));
  symlinkSync(join(root, 'outside'), join(renderer, 'assets', 'out'));
  // A link that stays inside is just another name for our own file.
  symlinkSync(join(renderer, 'assets', 'index-abc.js'), join(renderer, 'assets', 'alias.js'));
  // The renderer folder reached through a link (a packaged app's path may be one).
  symlinkSync(renderer, join(root, 'renderer-link'));
  handle = appProtocolHandler(join(root, 'renderer-link'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the app:// protocol handler', () => {
  it('serves index.html (also for /) with its type, nosniff and the desktop CSP', async () => {
    for (const url of [APP_PAGE, 'app://shardvault/']) {
      const response = await get(url);
      expect(response.status, url).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toBe(APP_CONTENT_SECURITY_POLICY);
      expect(await response.text()).toBe('<!doctype html><title>Shardvault</title>');
    }
    expect(APP_CONTENT_SECURITY_POLICY).toMatch(/default-src 'self'/);
    expect(APP_CONTENT_SECURITY_POLICY).toMatch(/connect-src 'none'/);
  });

  it('serves the assets with the right MIME types', async () => {
    const cases: [string, string, string][] = [
      ['assets/index-abc.js', 'text/javascript; charset=utf-8', 'console.log("app")'],
      ['assets/index-abc.css', 'text/css; charset=utf-8', 'body{}'],
      ['assets/logo.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
      ['assets/alias.js', 'text/javascript; charset=utf-8', 'console.log("app")'],
    ];
    for (const [path, type, body] of cases) {
      const response = await get(`app://shardvault/${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe(type);
      expect(response.headers.get('content-security-policy'), path).toBeNull();
      expect(await response.text(), path).toBe(body);
    }
    const font = await get('app://shardvault/assets/font.woff2');
    expect(font.headers.get('content-type')).toBe('font/woff2');
    expect(new Uint8Array(await font.arrayBuffer())).toEqual(new Uint8Array([0x77, 0x4f, 0x46, 0x32]));
    // HEAD answers the headers without a body.
    const head = await get('app://shardvault/assets/index-abc.css', 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('refuses to climb out of the folder, plainly or encoded', async () => {
    // What a handler that joined the decoded path onto the folder would have served:
    expect(readFileSync(join(renderer, decodeURIComponent('..%2Foutside%2Fsecret.txt')), 'utf8')).toBe(SECRET);
    // Two layers refuse these: each segment is checked after decoding, then the real path must
    // lie inside. This one stays inside, so only the first layer refuses it: an encoded `..`
    // is refused as such, not for where it leads.
    expect((await get('app://shardvault/assets/..%2Findex.html')).status).toBe(404);
    for (const url of [
      'app://shardvault/../../etc/passwd',
      'app://x/../../etc/passwd',
      'app://shardvault/../outside/secret.txt',
      'app://shardvault/%2e%2e/outside/secret.txt',
      'app://shardvault/..%2Foutside%2Fsecret.txt',
      'app://shardvault/assets/..%2F..%2Foutside%2Fsecret.txt',
      'app://shardvault/..%5Coutside%5Csecret.txt',
      'app://shardvault/%252e%252e/outside/secret.txt',
      'app://shardvault/index.html%00.js',
      'app://shardvault/%E0%A4%A',
      'app://shardvault//etc/passwd',
      `app://shardvault/${encodeURIComponent(join(root, 'outside', 'secret.txt'))}`,
    ]) {
      const response = await get(url);
      expect(response.status, url).toBe(404);
      expect(await response.text(), url).not.toContain(SECRET);
    }
  });

  it('refuses symlinks that lead out of the folder', async () => {
    // The links are there and do lead to the secret:
    expect(readFileSync(join(renderer, 'assets', 'leak.js'), 'utf8')).toBe(SECRET);
    expect(readFileSync(join(renderer, 'assets', 'out', 'secret.txt'), 'utf8')).toBe(SECRET);
    for (const url of ['app://shardvault/assets/leak.js', 'app://shardvault/assets/out/secret.txt']) {
      const response = await get(url);
      expect(response.status, url).toBe(404);
      expect(await response.text(), url).not.toContain(SECRET);
    }
  });

  it('answers 404 for other hosts, schemes, methods, folders, dot-files and unknown types', async () => {
    for (const url of [
      'app://evil/index.html',
      'app://shardvault.evil/index.html',
      'app://user:secret@shardvault/index.html',
      'app://shardvault:8080/index.html',
      'file:///etc/passwd',
      'https://shardvault/index.html',
      'not a url',
      'app://shardvault/assets',
      'app://shardvault/assets/',
      'app://shardvault/.hidden.js',
      'app://shardvault/assets/notes.unknown',
      'app://shardvault/missing.js',
    ]) {
      expect((await get(url)).status, url).toBe(404);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) expect((await get(APP_PAGE, method)).status).toBe(404);
  });

  it('is registered standard and secure, and no more', () => {
    expect(appScheme).toEqual({ scheme: 'app', privileges: { standard: true, secure: true } });
  });
});

describe('what the window and session accept', () => {
  it('trusts IPC only from our page (app:// in production, the dev server in development)', () => {
    expect(isAppPage('app://shardvault/index.html', undefined)).toBe(true);
    expect(isAppPage('app://shardvault/index.html#/files', undefined)).toBe(true);
    for (const url of [
      'file:///work/out/renderer/index.html',
      'app://evil/index.html',
      'app://shardvault/other.html',
      'http://localhost:5173/',
      'about:blank',
      '',
    ]) {
      expect(isAppPage(url, undefined), url).toBe(false);
    }
    expect(isAppPage('http://localhost:5173/', 'http://localhost:5173')).toBe(true);
    expect(isAppPage('app://shardvault/index.html', 'http://localhost:5173')).toBe(false);
  });

  it('lets requests through to our origin only: no file:, no network', () => {
    for (const url of ['app://shardvault/assets/index-abc.js', 'devtools://devtools/bundled/x.html', 'data:,x']) {
      expect(isAppRequest(url, undefined), url).toBe(true);
    }
    for (const url of ['file:///etc/passwd', 'https://example.org/', 'app://evil/x.js', 'http://localhost:5173/']) {
      expect(isAppRequest(url, undefined), url).toBe(false);
    }
    expect(isAppRequest('http://localhost:5173/src/main.tsx', 'http://localhost:5173')).toBe(true);
  });
});
