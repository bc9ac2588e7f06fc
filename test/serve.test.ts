// The web bridge (src/cli/serve.ts) refuses what it must: no token, a wrong token, a foreign
// Origin or Host, unknown routes, malformed payloads; and carries a real store and export
// through the engine. Runs against the real engine (createApp) over local folders.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer, type RunningServer } from '../src/cli/serve';
import { createApp } from '../src/core/app';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { IdleLock } from '../src/core/idle-lock';
import { web } from '../src/shared/ipc';
import { flipByte, shardObjects } from './helpers/cli';
import { folderInput, webdavInput } from './helpers/location-input';

/** Every file's bytes under a folder, as one text (to look for a secret on disk). */
function filesUnder(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'latin1'))
    .join('\n');
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  raw: Buffer;
  json(): { ok: boolean; value?: unknown; error?: { code: string; message: string } };
}

describe('shardvault serve: the web bridge', () => {
  let root: string;
  let app: ReturnType<typeof createApp>;
  let server: RunningServer;
  let origin: string;
  let port: number;
  let token: string;
  const logs: string[] = [];

  /** node:http, so that Host and Origin can be anything a hostile page could send. */
  function send(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: string | Buffer; token?: string | null } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...options.headers };
    const useToken = options.token === undefined ? token : options.token;
    if (useToken !== null) headers[web.tokenHeader] = useToken;
    if (options.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const body = raw.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            raw,
            json: () => JSON.parse(body) as ReturnType<Answer['json']>,
          });
        });
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }
  const call = (name: string, body?: unknown, headers?: Record<string, string>): Promise<Answer> =>
    send('POST', `/api/${name}`, { body: body === undefined ? undefined : JSON.stringify(body), headers });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-serve-'));
    for (const dir of ['profile', 'a', 'b', 'c']) mkdirSync(join(root, dir));
    app = createApp({ profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF });
    server = await startServer(app, { port: 0, host: '127.0.0.1', log: (line) => logs.push(line) });
    const url = new URL(server.url);
    origin = url.origin;
    port = Number(url.port);
    token = url.hash.replace('#token=', '');
  });

  afterAll(async () => {
    await server?.close();
    await app?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('listens on loopback and hands out a 256-bit token in the fragment', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
  });

  it('answers 401 without the token and 403 with a wrong one', async () => {
    const none = await send('POST', '/api/status', { token: null });
    expect(none.status).toBe(401);
    expect(none.json()).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const wrongToken = (token.startsWith('A') ? 'B' : 'A') + token.slice(1);
    const wrong = await send('POST', '/api/status', { token: wrongToken });
    expect(wrong.status).toBe(403);
    const short = await send('POST', '/api/status', { token: 'abc' });
    expect(short.status).toBe(403);
    for (const path of [web.events, `${web.upload}?name=x`]) {
      expect((await send(path === web.events ? 'GET' : 'PUT', path, { token: null })).status).toBe(401);
    }
    const right = await call('status');
    expect(right.status).toBe(200);
    expect(right.json()).toEqual({ ok: true, value: null });
  });

  it('refuses a foreign Origin, a foreign Host and cross-site fetches, even with the token', async () => {
    const foreignOrigin = await call('status', undefined, { origin: 'http://evil.example' });
    expect(foreignOrigin.status).toBe(403);
    const otherPort = await call('status', undefined, { origin: `http://127.0.0.1:${port + 1}` });
    expect(otherPort.status).toBe(403);
    const rebound = await call('status', undefined, { host: `evil.example:${port}` });
    expect(rebound.status).toBe(403);
    const page = await send('GET', '/', { token: null, headers: { host: `evil.example:${port}` } });
    expect(page.status).toBe(403);
    const crossSite = await call('status', undefined, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const sameOrigin = await call('status', undefined, { origin, 'sec-fetch-site': 'same-origin' });
    expect(sameOrigin.status).toBe(200);
  });

  it('sends no CORS headers, a strict CSP and no-store', async () => {
    const preflight = await send('OPTIONS', '/api/status', {
      token: null,
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(401);
    const answers = [preflight, await call('status'), await send('GET', '/nope', { token: null })];
    for (const answer of answers) {
      expect(Object.keys(answer.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
      expect(answer.headers['content-security-policy']).toContain("default-src 'none'");
      expect(answer.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await call('status')).headers['cache-control']).toBe('no-store');
  });

  it('answers 404 for unknown routes and desktop-only calls', async () => {
    const unknown = await call('stealKeys');
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ ok: false, error: { code: 'unknown-call' } });
    expect((await call('chooseSavePath', { name: 'x' })).status).toBe(404);
    expect((await send('GET', '/api', {})).status).toBe(404);
    expect((await send('GET', '/../../etc/passwd', { token: null })).status).toBe(404);
    expect((await send('GET', '/%2e%2e/%2e%2e/etc/passwd', { token: null })).status).toBe(404);
  });

  it('answers 400 with a clear error for a malformed payload', async () => {
    const base = {
      locations: [folderInput(join(root, 'a')), folderInput(join(root, 'b'))],
      survive: 0,
      secretAgainst: 1,
      passphrase: 'pw',
    };
    const wrongType = await call('createVault', { ...base, survive: 'two' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json().error).toEqual({
      code: 'bad-request',
      message: 'survive: expected a whole number from 0 to 63',
    });
    const extra = await call('createVault', { ...base, isAdmin: true });
    expect(extra.status).toBe(400);
    expect(extra.json().error?.message).toBe("request: unknown member 'isAdmin'");
    const missing = await call('unlock', {});
    expect(missing.json().error?.message).toMatch(/^passphrase: expected a passphrase/);
    const nested = await call('createVault', { ...base, locations: [folderInput('/ok'), 7] });
    expect(nested.json().error?.message).toMatch(/^locations\[1\]: expected a location/);
    const payloadWhereNone = await call('status', { please: true });
    expect(payloadWhereNone.status).toBe(400);
    const notJson = await send('POST', '/api/unlock', { body: '{"passphrase":' });
    expect(notJson.status).toBe(400);
    expect(notJson.json().error?.message).toBe('request body is not valid JSON');
    const notJsonType = await send('POST', '/api/unlock', {
      body: 'passphrase=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(notJsonType.status).toBe(415);
    const huge = await send('POST', '/api/unlock', {
      body: JSON.stringify({ passphrase: 'x'.repeat(web.maxJsonBytes) }),
    });
    expect(huge.status).toBe(413);
    expect((await send('GET', '/api/status', {})).status).toBe(405);
    const noName = await send('PUT', web.upload, {
      body: 'x',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(noName.status).toBe(400);
    expect(noName.json().error?.message).toMatch(/^name: /);
    const badType = await send('PUT', `${web.upload}?name=x`, { body: 'x', headers: { 'content-type': 'text/plain' } });
    expect(badType.status).toBe(415);
    // A folder upload's head (its length, then JSON) is bounded and checked before the engine sees it.
    const folder = (head: Buffer) =>
      send('PUT', web.uploadFolder, { body: head, headers: { 'content-type': 'application/octet-stream' } });
    const length = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
    const tooBig = await folder(length(web.maxFolderHeadBytes + 1));
    expect([tooBig.status, tooBig.json().error?.message]).toEqual([413, 'the folder upload head is too large']);
    const widest = await folder(length(2 ** 32 - 1));
    expect([widest.status, widest.json().error?.message]).toEqual([413, 'the folder upload head is too large']);
    const cut = await folder(Buffer.concat([length(100), Buffer.from('{"name"')]));
    expect([cut.status, cut.json().error?.message]).toEqual([400, 'the folder upload ended inside its head']);
    const garbled = await folder(Buffer.concat([length(3), Buffer.from('{"n')]));
    expect(garbled.status).toBe(400);
    const head = Buffer.from(JSON.stringify({ name: 'x', files: [{ name: 'a', size: -1 }] }));
    const negative = await folder(Buffer.concat([length(head.length), head]));
    expect(negative.status).toBe(400);
    expect(negative.json().error?.message).toMatch(/^files\[0\]\.size: /);
  });

  it('answers 400 for malformed location and repair payloads, naming the field', async () => {
    const key = `SHA256:${'A'.repeat(43)}`;
    const cases: Array<[string, unknown, RegExp]> = [
      ['repair', undefined, /^request: expected an object/],
      ['repair', {}, /^deep: expected true or false/],
      ['repair', { deep: 'yes' }, /^deep: expected true or false, got a string/],
      ['repair', { deep: true, force: true }, /^request: unknown member 'force'/],
      ['probeLocation', {}, /^location: expected a location/],
      ['probeLocation', { location: 7 }, /^location: expected a location/],
      // A SPEC (a URL that may hold a password) does not cross the bridge: fields do.
      ['probeLocation', { spec: '/tmp/x' }, /^request: unknown member 'spec'/],
      ['probeLocation', { location: { kind: 'ftp', fields: {} } }, /^location\.kind: expected one of/],
      ['probeLocation', { location: { kind: 'local' } }, /^location\.fields: expected an object/],
      ['probeLocation', { location: { kind: 'local', fields: { folder: 7 } } }, /^location\.fields\.folder: /],
      [
        'probeLocation',
        { location: { kind: 'local', fields: { folder: '/tmp/a\nb' } } },
        /^location\.fields\.folder: must not contain control characters/,
      ],
      [
        'probeLocation',
        { location: { kind: 'local', fields: { folder: 'x'.repeat(4097) } } },
        /^location\.fields\.folder: must be at most 4096 characters/,
      ],
      [
        'probeLocation',
        { location: { kind: 'local', fields: { url: 'https://x' } } },
        /^location\.fields: unknown member 'url'/,
      ],
      [
        'probeLocation',
        { location: { kind: 'local', fields: { folder: '/tmp/x' }, secrets: { password: 'pw' } } },
        /^location\.secrets: unknown member 'password'/,
      ],
      [
        'probeLocation',
        { location: { kind: 's3', fields: {}, secrets: { password: 'pw' } } },
        /^location\.secrets: unknown member 'password'/,
      ],
      ['addLocation', { hostKey: key }, /^location: expected a location/],
      ['addLocation', { location: folderInput('/tmp/x'), hostKey: 'MD5:aa:bb' }, /^hostKey: expected a host key/],
      ['addLocation', { location: folderInput('/tmp/x'), hostKey: `${key}=` }, /^hostKey: /],
      ['addLocation', { location: folderInput('/tmp/x'), hostKey: null }, /^hostKey: /],
      ['addLocation', { location: folderInput('/tmp/x'), trust: true }, /^request: unknown member 'trust'/],
      ['removeLocation', { name: 'usb' }, /^untrusted: expected true or false/],
      ['removeLocation', { name: 'usb', untrusted: 'no' }, /^untrusted: /],
      ['removeLocation', { name: '../usb', untrusted: false }, /^name: expected a location name/],
      ['removeLocation', { name: 'usb', untrusted: false, now: 1 }, /^request: unknown member 'now'/],
      ['testLocation', { name: '' }, /^name: must not be empty/],
      ['testLocation', { name: 'x'.repeat(65) }, /^name: must be at most 64 characters/],
      ['testLocation', { name: 'two words' }, /^name: expected a location name/],
      ['testLocation', ['usb'], /^request: expected an object, got a list/],
    ];
    for (const [name, body, message] of cases) {
      const answer = await call(name, body);
      expect(answer.status, `${name} ${JSON.stringify(body)}`).toBe(400);
      expect(answer.json().error?.code).toBe('bad-request');
      expect(answer.json().error?.message).toMatch(message);
    }
  });

  it('probes a location without a vault, and never echoes its password', async () => {
    const folder = await call('probeLocation', { location: folderInput(join(root, 'a'), 'usb') });
    expect(folder.status).toBe(200);
    expect(folder.json().value).toEqual({ kind: 'local', display: join(root, 'a'), hostKey: null });
    const dav = await call('probeLocation', {
      location: webdavInput('https://dav.example.org/v a', 'ana', 'hunter:2', 'dav'),
    });
    expect(dav.json().value).toEqual({
      kind: 'webdav',
      display: 'webdav+https://ana@dav.example.org/v%20a/',
      hostKey: null,
    });
    // The engine refuses a bad address in words (usage → 400), and never says the password.
    const bad = await call('probeLocation', { location: webdavInput('https://bad_host/x', 'ana', 'hunter2', 'dav') });
    expect(bad.status).toBe(400);
    expect(bad.json().error?.code).toBe('usage');
    expect(bad.json().error?.message).toContain('bad host name');
    expect(bad.body).not.toContain('hunter2');
    expect(logs.join('\n')).not.toContain('hunter2');
  });

  it('passes engine errors through with their code, never an internal detail', async () => {
    const noVault = await call('listFiles');
    expect(noVault.status).toBe(404);
    expect(noVault.json().error?.code).toBe('not-found');
  });

  it('refuses a weak passphrase with its own code and the reason, and creates nothing', async () => {
    const weak = await call('createVault', {
      locations: ['a', 'b', 'c'].map((d) => folderInput(join(root, d))),
      survive: 1,
      secretAgainst: 1,
      passphrase: 'password123',
    });
    expect(weak.status).toBe(422);
    expect(weak.json().error).toEqual({
      code: 'weak-passphrase',
      message: expect.stringMatching(/too easy to guess .*This is a commonly used password/) as unknown,
    });
    expect(weak.body).not.toContain('password123');
    expect((await call('status')).json().value).toBeNull();
    const notBoolean = await call('createVault', {
      locations: [folderInput(join(root, 'a'))],
      survive: 1,
      secretAgainst: 1,
      passphrase: 'password123',
      allowWeakPassphrase: 'yes',
    });
    expect(notBoolean.status).toBe(400);
  });

  it('checks a folder at once, makes only its last folder when asked, and names the refused location', async () => {
    const missing = join(root, 'm', 'vault');
    mkdirSync(join(root, 'm'));
    expect((await call('checkFolder', { location: folderInput(join(root, 'a')) })).json().value).toEqual({
      display: join(root, 'a'),
      state: 'present',
      error: null,
    });
    expect((await call('checkFolder', { location: folderInput(missing) })).json().value).toMatchObject({
      state: 'missing',
    });
    const deep = (
      await call('checkFolder', {
        location: folderInput(join(root, 'nope', 'vault')),
        create: true,
      })
    ).json().value;
    expect(deep).toMatchObject({
      state: 'unreachable',
      error: expect.stringContaining('is the disk mounted?') as unknown,
    });
    expect(readdirSync(root)).not.toContain('nope');
    // A vault over the missing folder is refused, and the answer says which location (by position).
    const refused = await call('createVault', {
      locations: [folderInput(join(root, 'a')), folderInput(join(root, 'b')), folderInput(missing)],
      survive: 1,
      secretAgainst: 1,
      passphrase: 'a passphrase that is hard enough to guess 41',
    });
    expect(refused.json().error).toMatchObject({ code: 'usage', locations: [2] });
    expect((await call('status')).json().value).toBeNull();
    expect((await call('checkFolder', { location: folderInput(missing), create: true })).json().value).toMatchObject({
      state: 'created',
    });
    expect(statSync(missing).isDirectory()).toBe(true);
    rmSync(join(root, 'm'), { recursive: true });
  });

  it('creates a vault, streams an upload into it, pushes progress, exports it verified', async () => {
    const passphrase = 'the bridge test passphrase';
    const created = await call('createVault', {
      locations: ['a', 'b', 'c'].map((d) => folderInput(join(root, d))),
      survive: 1,
      secretAgainst: 1,
      passphrase,
    });
    expect(created.status).toBe(200);
    const value = created.json().value as Record<string, unknown>;
    expect(value).not.toHaveProperty('recoveryCode');
    expect(created.body).not.toContain(passphrase);

    // The recovery kit waits in the engine's memory until confirmed: a reloaded page that asks
    // again gets the same code; once confirmed, nobody does.
    const kit = (await call('recoveryKit')).json().value as { recoveryCode: string; locations: string[] };
    expect(kit.recoveryCode).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$/);
    expect(kit.locations).toEqual(['a', 'b', 'c'].map((d) => join(root, d)));
    expect((await call('recoveryKit')).json().value).toEqual(kit);
    expect(filesUnder(join(root, 'profile'))).not.toContain(kit.recoveryCode);
    expect((await call('confirmRecoveryKit')).json()).toEqual({ ok: true });
    expect((await call('recoveryKit')).json()).toEqual({ ok: true, value: null });

    // Progress arrives on the event stream while the upload runs.
    const progress: string[] = [];
    const events = await fetch(`${origin}${web.events}`, { headers: { [web.tokenHeader]: token } });
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    const reading = (async () => {
      for (;;) {
        const { value: text, done } = await reader.read();
        if (done) return;
        progress.push(text);
      }
    })();

    const content = randomBytes(9 * 1024 * 1024 + 17);
    const stored = await send('PUT', `${web.upload}?name=${encodeURIComponent('report 2026.pdf')}`, {
      body: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(stored.status).toBe(200);
    expect(stored.json().value).toMatchObject({
      name: 'report 2026.pdf',
      size: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      health: 'healthy',
      guarded: false,
    });
    const again = await send('PUT', `${web.upload}?name=${encodeURIComponent('report 2026.pdf')}`, {
      body: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(again.status).toBe(409);
    expect(again.json().error?.code).toBe('exists');
    // "Guarded" (guarded=1): refused in words before guard setup, and a malformed flag names itself.
    const upload = (query: string) =>
      send('PUT', `${web.upload}?name=g.bin&${query}`, {
        body: content,
        headers: { 'content-type': 'application/octet-stream' },
      });
    const badFlag = await upload('guarded=yes');
    expect(badFlag.status).toBe(400);
    expect(badFlag.json().error?.message).toMatch(/^guarded: expected '1' or '0'/);
    const noGuard = await upload('guarded=1');
    expect(noGuard.status).toBe(400);
    expect(noGuard.json().error?.message).toMatch(/no guard yet: run shardvault guard setup/);

    const output = join(root, 'out.pdf');
    const exported = await call('getFile', { name: 'report 2026.pdf', output });
    expect(exported.json()).toEqual({ ok: true });
    expect(readFileSync(output).equals(content)).toBe(true);

    // The web UI's export: the engine verifies the whole file into a private temporary folder,
    // then the browser downloads it once, by ticket (a download sends no token header).
    const temp = join(root, 'tmp');
    mkdirSync(temp);
    const savedTmp = process.env['TMPDIR'];
    process.env['TMPDIR'] = temp;
    try {
      expect((await send('POST', web.exportFile, { body: '{"name":"x"}', token: null })).status).toBe(401);
      const missing = await send('POST', web.exportFile, { body: JSON.stringify({ name: 'no such file' }) });
      expect(missing.status).toBe(404);
      expect(readdirSync(temp)).toEqual([]);

      const ready = await send('POST', web.exportFile, { body: JSON.stringify({ name: 'report 2026.pdf' }) });
      expect(ready.status).toBe(200);
      const { url } = ready.json().value as { url: string };
      expect(url).toMatch(/^\/api\/download\/[A-Za-z0-9_-]{43}$/);
      // Waiting: complete and verified, nothing else (no .part file) in a folder only we may read.
      const [waiting] = readdirSync(temp);
      expect(readdirSync(join(temp, waiting!))).toEqual(['report 2026.pdf']);
      expect(statSync(join(temp, waiting!)).mode & 0o777).toBe(0o700);

      const download = await send('GET', url, { token: null, headers: { 'sec-fetch-site': 'same-origin' } });
      expect(download.status).toBe(200);
      expect(download.headers['content-type']).toBe('application/octet-stream');
      expect(download.headers['content-disposition']).toBe(
        `attachment; filename="report 2026.pdf"; filename*=UTF-8''report%202026.pdf`,
      );
      expect(download.headers['cache-control']).toBe('no-store');
      expect(Number(download.headers['content-length'])).toBe(content.length);
      expect(createHash('sha256').update(download.raw).digest('hex')).toBe(
        createHash('sha256').update(content).digest('hex'),
      );
      await expect.poll(() => readdirSync(temp)).toEqual([]);
      expect((await send('GET', url, { token: null })).status).toBe(404);
      expect((await send('GET', `${web.download}${'A'.repeat(43)}`, { token: null })).status).toBe(404);

      // Damaged beyond repair (two of three shards): no download is offered, nothing waits.
      const before = await shardObjects(['a', 'b', 'c'].map((d) => join(root, d)));
      const small = randomBytes(200_000);
      const putSmall = await send('PUT', `${web.upload}?name=damaged.bin`, {
        body: small,
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(putSmall.status).toBe(200);
      const added = [...(await shardObjects(['a', 'b', 'c'].map((d) => join(root, d))))].filter((p) => !before.has(p));
      expect(added).toHaveLength(3);
      for (const shard of added.slice(0, 2)) await flipByte(shard, 5000);
      const refused = await send('POST', web.exportFile, { body: JSON.stringify({ name: 'damaged.bin' }) });
      expect(refused.status).not.toBe(200);
      expect(refused.json().ok).toBe(false);
      expect(readdirSync(temp)).toEqual([]);
      expect((await call('removeFile', { name: 'damaged.bin' })).status).toBe(200);
    } finally {
      if (savedTmp === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = savedTmp;
    }

    await reader.cancel();
    await reading.catch(() => undefined);
    const frames = progress.join('');
    expect(frames).toMatch(/event: progress\ndata: \{"op":"put","name":"report 2026.pdf"/);
    // The upload's content-length is the progress bar's total from the first event on.
    const totals = [...frames.matchAll(/"op":"put","name":"report 2026\.pdf","done":(\d+),"total":(\d+)/g)];
    expect(totals.length).toBeGreaterThan(1);
    expect(totals.every((m) => Number(m[2]) === content.length)).toBe(true);
    expect(Number(totals[0]![1])).toBeLessThan(content.length);

    const lockAnswer = await call('lock');
    expect(lockAnswer.json()).toEqual({ ok: true });
    const denied = await call('unlock', { passphrase: 'wrong' });
    expect(denied.status).toBe(403);
    expect(denied.json().error?.code).toBe('auth');
    expect(logs.join('\n')).not.toContain(passphrase);
  });

  it('answers status, the file list and the access log while a slow upload holds the engine', async () => {
    expect((await call('unlock', { passphrase: 'the bridge test passphrase' })).status).toBe(200);
    // An upload whose sender pauses half way: the engine's queue is busy until it ends.
    const half = randomBytes(3 * 1024 * 1024);
    let finish!: () => void;
    const upload = new Promise<Answer>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: `${web.upload}?name=slow.bin`,
          headers: {
            host: `127.0.0.1:${port}`,
            [web.tokenHeader]: token,
            'content-type': 'application/octet-stream',
            'content-length': String(half.length * 2),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks);
            const body = raw.toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
              raw,
              json: () => JSON.parse(body) as ReturnType<Answer['json']>,
            });
          });
        },
      );
      req.on('error', reject);
      req.write(half);
      finish = () => req.end(half);
    });
    let uploaded = false;
    void upload.then(() => (uploaded = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const status = await call('status');
    expect(status.status).toBe(200);
    expect((await call('listFiles')).json().value).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'report 2026.pdf' })]),
    );
    expect((await call('accessLog')).status).toBe(200);
    expect(uploaded).toBe(false);
    finish();
    const stored = await upload;
    expect(stored.status, stored.body).toBe(200);
    expect(stored.json().value).toMatchObject({ name: 'slow.bin', size: half.length * 2 });
    expect((await call('removeFile', { name: 'slow.bin' })).json()).toEqual({ ok: true });
    expect((await call('lock')).json()).toEqual({ ok: true });
  });

  it('tests, repairs, adds and removes locations through the bridge', async () => {
    const unknown = await call('testLocation', { name: 'nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.json().error).toEqual({ code: 'usage', message: 'no location named nope' });
    expect((await call('repair', { deep: false })).json().error?.code).toBe('auth'); // locked
    expect((await call('unlock', { passphrase: 'the bridge test passphrase' })).status).toBe(200);
    // The unlock is an access request naming the locations whose key shares it read.
    const log = (await call('accessLog')).json().value as Array<{
      action: string;
      outcome: string;
      locations: string[];
    }>;
    const unlocked = log.filter((e) => e.action === 'unlock' && e.outcome === 'ok');
    expect(unlocked.length).toBeGreaterThan(0);
    expect(unlocked.every((e) => e.locations.length >= 2)).toBe(true);

    const tested = await call('testLocation', { name: 'loc1' });
    expect(tested.status).toBe(200);
    expect(tested.json().value).toMatchObject({ name: 'loc1', reachable: true, error: null });
    expect(Object.keys(tested.json().value as object).sort()).toEqual(
      ['error', 'freeBytes', 'latencyMs', 'name', 'reachable', 'roundTripMs'].sort(),
    );
    const repaired = await call('repair', { deep: true });
    expect(repaired.status).toBe(200);
    expect(repaired.json().value).toMatchObject({ ok: true, keyShares: 'current', pending: [] });

    mkdirSync(join(root, 'd'));
    expect((await call('addLocation', { location: folderInput(join(root, 'd'), 'dee') })).json()).toEqual({ ok: true });
    const exists = await call('addLocation', { location: folderInput(join(root, 'd'), 'dee2') });
    expect(exists.json().error?.code).toBe('usage');
    expect((await call('removeLocation', { name: 'dee', untrusted: false })).json()).toEqual({ ok: true });
    const status = (await call('status')).json().value as { locations: Array<{ name: string }> };
    expect(status.locations.map((l) => l.name)).toEqual(['loc1', 'loc2', 'loc3']);
    const refused = await call('removeLocation', { name: 'loc1', untrusted: true });
    expect(refused.status).toBe(422);
    expect(refused.json().error?.code).toBe('policy');
  });
});

describe('auto-lock (both bridges share IdleLock)', () => {
  it('locks after the idle minutes, not while work runs, and not because a view refreshed', async () => {
    vi.useFakeTimers();
    try {
      let locks = 0;
      const idle = new IdleLock(5, () => locks++, 1000);
      await vi.advanceTimersByTimeAsync(4 * 60_000);
      // A view polling status does not count as use...
      await idle.around(() => Promise.resolve(), false);
      await vi.advanceTimersByTimeAsync(61_000);
      expect(locks).toBe(1);
      // ...and locking happens once per idle spell.
      await vi.advanceTimersByTimeAsync(10 * 60_000);
      expect(locks).toBe(1);

      // What the user asks for does count, and long work is never cut.
      idle.touch();
      let finish: () => void = () => undefined;
      const work = idle.around(() => new Promise<void>((resolve) => (finish = resolve)), true);
      await vi.advanceTimersByTimeAsync(30 * 60_000);
      expect(locks).toBe(1);
      finish();
      await work;
      await vi.advanceTimersByTimeAsync(4 * 60_000);
      expect(locks).toBe(1);
      await vi.advanceTimersByTimeAsync(61_000);
      expect(locks).toBe(2);

      idle.setMinutes(0); // never
      await vi.advanceTimersByTimeAsync(120 * 60_000);
      expect(locks).toBe(2);
      idle.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

/** A fresh engine with a vault over three folders (survive 1, secret against 1), for one test. */
async function withNewVault(
  passphrase: string,
  work: (app: ReturnType<typeof createApp>, root: string) => Promise<void>,
): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'shardvault-app-'));
  const app = createApp({ profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF });
  try {
    for (const dir of ['a', 'b', 'c']) mkdirSync(join(root, dir));
    const locations = ['a', 'b', 'c'].map((d) => folderInput(join(root, d)));
    await app.createVault({ locations, survive: 1, secretAgainst: 1, passphrase });
    await work(app, root);
  } finally {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  }
}

describe('the recovery kit', () => {
  it('waits in memory until confirmed, and a lock forgets it', async () => {
    const passphrase = 'kit test passphrase';
    await withNewVault(passphrase, async (app, root) => {
      const kit = await app.recoveryKit();
      expect(kit?.recoveryCode).toMatch(/^[0-9A-Z-]{20,}$/);
      expect(filesUnder(root)).not.toContain(kit!.recoveryCode);
      await app.lock();
      expect(await app.recoveryKit()).toBeNull();
      await app.unlock({ passphrase });
      expect(await app.recoveryKit()).toBeNull();
    });
  });
});

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield* parts;
}

describe("the engine's words", () => {
  it('count locations in plural-correct words, not "location(s)"', async () => {
    await withNewVault('words test passphrase', async (app, root) => {
      renameSync(join(root, 'c'), join(root, 'c.unplugged'));
      // A put with a location away goes ahead (its shard waits on another location); asking
      // for shards on all 3 is refused, in plural-correct words.
      const refused = app.putStream({ name: 'late.txt', data: chunks(new TextEncoder().encode('late')), happy: 3 });
      await expect(refused).rejects.toThrow(
        'only 2 of 3 locations are reachable: this put asks for shards on at least 3 (--happy 3)',
      );
      await expect(app.putStream({ name: 'x', data: chunks(), survive: 0 })).rejects.toThrow(
        "this vault's files survive losing 1 location; a file can ask for more, not fewer",
      );
    });
  });
});

describe('the web export after a lock', () => {
  it('is gone: its plaintext is deleted and its ticket answers 404', async () => {
    const passphrase = 'export after lock passphrase';
    await withNewVault(passphrase, async (app, root) => {
      const temp = join(root, 'tmp');
      mkdirSync(temp);
      const savedTmp = process.env['TMPDIR'];
      process.env['TMPDIR'] = temp;
      const served = await startServer(app, { log: () => undefined });
      try {
        const url = new URL(served.url);
        const headers = {
          host: url.host,
          [web.tokenHeader]: url.hash.replace('#token=', ''),
          'content-type': 'application/json',
        };
        const post = (path: string, body?: unknown): Promise<Response> =>
          fetch(`${url.origin}${path}`, { method: 'POST', headers, body: JSON.stringify(body ?? null) });
        await app.putStream({ name: 'diary.txt', data: chunks(new TextEncoder().encode('dear diary')) });
        const ready = (await (await post(web.exportFile, { name: 'diary.txt' })).json()) as { value: { url: string } };
        expect(readdirSync(temp)).toHaveLength(1);
        // The user locks (or the idle timer does) before the browser fetched the download.
        expect((await post('/api/lock')).status).toBe(200);
        expect(readdirSync(temp)).toEqual([]);
        expect((await fetch(`${url.origin}${ready.value.url}`)).status).toBe(404);
      } finally {
        await served.close();
        if (savedTmp === undefined) delete process.env['TMPDIR'];
        else process.env['TMPDIR'] = savedTmp;
      }
    });
  });
});
