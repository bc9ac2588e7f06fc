// Start-up of the built CLI on a vault of local folders: the remote backends (ssh2 and
// ssh2-sftp-client for SFTP, the WebDAV client, the AWS SDK for S3) are loaded only by a
// vault that has such a location (storage/open.ts loads them with import(), and build:cli
// splits them into chunks of their own). Seen from the kernel: strace lists every file the
// process opens, and none of theirs may be among them. Likewise a command loads only its own
// code (commands/index.ts) and the engine's it uses: the chunks it opens name their modules.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, childEnv, ensureBuilt, ROOT, TempRoot } from './helpers/cli';

const straceWorks = spawnSync('strace', ['-qq', '-o', '/dev/null', 'true']).status === 0;
if (!straceWorks)
  console.warn('startup.test.ts: skipped: strace is missing or may not trace here (scripts/setup-system.sh)');

const PASSPHRASE = 'correct horse battery staple';
/** What only a remote location needs. */
const REMOTE_ONLY = [/\/node_modules\/ssh2\//, /\/node_modules\/ssh2-sftp-client\//, /\/node_modules\/@aws-sdk\//];

/** Files the CLI opened (successfully) while running `args`. */
async function openedBy(args: readonly string[], env: Record<string, string>, log: string): Promise<string[]> {
  const child = spawn(
    'strace',
    ['-f', '-qq', '-e', 'trace=openat', '-e', 'signal=none', '-o', log, process.execPath, BIN, ...args],
    {
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, output).toBe(0);
  return (await fs.readFile(log, 'utf8'))
    .split('\n')
    .filter((line) => !/= -1 E/.test(line))
    .flatMap((line) => /openat\([^,]+, "([^"]+)"/.exec(line)?.[1] ?? []);
}

describe.skipIf(!straceWorks)('start-up on a folder vault', () => {
  let root: TempRoot;
  let env: Record<string, string>;

  beforeAll(async () => {
    ensureBuilt();
    root = await TempRoot.create('shardvault-startup-');
    env = { SHARDVAULT_HOME: await root.dir('home'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
    const locations = await root.locations('locs', 3);
    const init = spawnSync(
      process.execPath,
      [
        BIN,
        'init',
        ...locations.flatMap((l) => ['--location', l]),
        '--survive',
        '1',
        '--secret-against',
        '1',
        '--insecure-kdf-cost',
        '10',
      ],
      { env: childEnv(env), encoding: 'utf8' },
    );
    expect(init.status, init.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await root?.cleanup();
  });

  it('opens the vault without loading any remote backend', async () => {
    const opened = await openedBy(['ls'], env, nodePath.join(root.path, 'ls.strace'));
    // It did open the vault (the records on its locations) and the CLI's own code ...
    expect(opened.some((p) => p.endsWith('/shardvault.json'))).toBe(true);
    expect(opened.some((p) => p.startsWith(nodePath.join(ROOT, 'out', 'cli')))).toBe(true);
    // ... and none of what only a remote location needs.
    expect(opened.filter((p) => REMOTE_ONLY.some((r) => r.test(p)))).toEqual([]);
    // The packages it does need are in the bundle (build:cli): Node's loader resolves none
    // of them through node_modules at start (docs/ARCHITECTURE.md, the CLI).
    expect(opened.filter((p) => p.includes('/node_modules/'))).toEqual([]);
  }, 60_000);

  it('loads only the code a command uses: no guard, S3 node or drive code for put, get and ls', async () => {
    // The bundle keeps esbuild's `// src/...` comment before each module's code, so the chunks
    // a run opened say which modules it loaded.
    const sources = async (args: readonly string[], name: string): Promise<string> => {
      const opened = await openedBy(args, env, nodePath.join(root.path, `${name}.strace`));
      const chunks = [...new Set(opened.filter((p) => p.startsWith(nodePath.join(ROOT, 'out', 'cli'))))];
      const texts = await Promise.all(chunks.map((p) => fs.readFile(p, 'utf8')));
      return texts.flatMap((t) => t.split('\n').filter((l) => l.startsWith('// '))).join('\n');
    };
    const file = nodePath.join(root.path, 'small.txt');
    await fs.writeFile(file, 'a small file\n');
    const put = await sources(['put', file], 'put');
    const get = await sources(['get', 'small.txt', '--output', nodePath.join(root.path, 'back.txt')], 'get');
    const ls = await sources(['ls'], 'ls');
    // Each loaded its own command's code and the engine's (what makes the check able to see a load) ...
    expect(put).toContain('// src/cli/commands/put.ts');
    expect(get).toContain('// src/cli/commands/get.ts');
    expect(get).toContain('// src/core/vault/files.ts');
    expect(ls).toContain('// src/cli/commands/ls.ts');
    // ... and no other command's, nor the code only guarded files, S3 locations, the drive,
    // the app's calls or a new vault need (docs/PERFORMANCE.md, start-up).
    const unused = [
      /\/\/ src\/cli\/commands\/(?!(put|get|ls|index)\.ts)/,
      /\/\/ src\/core\/guard\//,
      /\/\/ src\/core\/vault\/guard/,
      /@noble\/curves/,
      /\/\/ src\/core\/storage\/s3\/node\.ts/,
      /\/\/ src\/core\/drive\//,
      /\/\/ src\/core\/app\.ts/,
      /\/\/ src\/core\/vault\/session\/(create|attach)\.ts/,
    ];
    for (const [name, text] of Object.entries({ put, get, ls }))
      for (const r of unused) expect(text, `${name} loaded ${r}`).not.toMatch(r);
    // get prints no schema-checked answer, so it loads none of the bridges' schemas either.
    expect(get).not.toContain('// src/shared/ipc.ts');
    // help loads no command's code and none of the engine's vault code.
    const help = await sources(['help'], 'help');
    expect(help).toContain('// src/cli/help.ts');
    expect(help).not.toMatch(/\/\/ src\/cli\/commands\/(?!index\.ts)/);
    expect(help).not.toMatch(/\/\/ src\/core\/vault\//);
  }, 60_000);

  it('loads the SFTP backend when asked for it (the check above can see a load)', async () => {
    // `location add` of an SFTP spec with no reachable server: it loads ssh2 to ask for the
    // host key, and fails (nothing listens on port 1), which is all this needs.
    const log = nodePath.join(root.path, 'sftp.strace');
    const child = spawn(
      'strace',
      [
        '-f',
        '-qq',
        '-e',
        'trace=openat',
        '-e',
        'signal=none',
        '-o',
        log,
        process.execPath,
        BIN,
        'location',
        'add',
        'sftp://nobody@127.0.0.1:1/x#remote',
      ],
      { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise((resolve) => child.on('close', resolve));
    const text = await fs.readFile(log, 'utf8');
    expect(REMOTE_ONLY[0]!.test(text)).toBe(true);
  }, 60_000);
});
