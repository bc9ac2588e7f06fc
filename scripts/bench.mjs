#!/usr/bin/env node
// `npm run bench`: Shardvault side by side with the tools a user would otherwise pick
// (issue 6). Every tool runs as a whole process that reads the generated input file and
// writes its output files; wall time is taken around the process, peak RSS from GNU time
// (`/usr/bin/time -f %M`, the child's ru_maxrss) or, without it, by polling
// /proc/<pid>/status VmHWM (a lower bound). Best of --runs for each of put and get.
//
//   node scripts/bench.mjs [--size 256M] [--runs 3] [--policy 3/5] [--keep] [--json]
//                          [--tmp DIR] [--only a,b] [--no-install] [--build]
//   node scripts/bench.mjs --rss [--size 4G]      peak RSS of one Shardvault put and get
//   node scripts/bench.mjs --profile [--size 256M] CPU profile of one Shardvault put and get
//
// MB/s are decimal (10^6 bytes per second) of plaintext. Not part of the test run.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { SourceMap } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The CLI under test: this tree's, or another checkout's with --cli (to compare builds).
let CLI_ROOT = ROOT;
let CLI = path.join(ROOT, 'bin', 'shardvault.mjs');
let BUNDLE = path.join(ROOT, 'out', 'cli', 'shardvault.mjs');
const GNU_TIME = '/usr/bin/time';
const DEBIAN_PYTHON = '/usr/bin/python3';

const USAGE = `usage: node scripts/bench.mjs [options]
  --size SIZE      input size: bytes or with K/M/G (binary: 64M = 64 MiB); default 256M (4G with --rss)
  --runs N         best of N for each put and get (default 3)
  --policy K/N     Shardvault K-of-N over N local folders, unlock threshold K (default 3/5);
                   zfec and gfsplit use the same K and N
  --json           print one JSON document instead of the table
  --save FILE      also write the JSON document to FILE
  --keep           keep the temporary folder (its path is printed)
  --tmp DIR        where to make the temporary folder (default the system's)
  --only LIST      run only these tools: shardvault,rclone,zfec,gfsplit,cp,cp-fsync
  --no-install     don't run scripts/bench-peers.sh when a peer is missing
  --build          run \`npm run build:cli\` first (default: use the existing bundle)
  --cli PATH       the CLI to measure: another checkout's bin/shardvault.mjs (default this tree's)
  --rss            only Shardvault: one put and one get, report peak RSS (target <= 256 MiB at 4G)
  --profile        only Shardvault: one put and one get under node --cpu-prof, top self time`;

// ------------------------------------------------------------------ options

function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(String(text).trim());
  if (!m) throw new Error(`--size: can't read ${JSON.stringify(text)} (try 64M, 1G, 1048576)`);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase()];
  const bytes = Math.round(Number(m[1]) * unit);
  if (bytes < 1) throw new Error('--size must be at least 1 byte');
  return bytes;
}

function parseOptions(argv) {
  const o = {
    size: null,
    runs: 3,
    k: 3,
    n: 5,
    json: false,
    save: null,
    keep: false,
    tmp: os.tmpdir(),
    only: null,
    install: true,
    build: false,
    mode: 'compare',
  };
  const ALL = ['shardvault', 'rclone', 'zfec', 'gfsplit', 'cp', 'cp-fsync'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--size':
        o.size = parseSize(value());
        break;
      case '--runs':
        o.runs = Number(value());
        if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a whole number >= 1');
        break;
      case '--policy': {
        const m = /^(\d+)\/(\d+)$/.exec(value());
        if (!m) throw new Error('--policy takes K/N, e.g. 3/5');
        o.k = Number(m[1]);
        o.n = Number(m[2]);
        if (o.k < 2 || o.n < o.k || o.n > 255)
          throw new Error('--policy K/N needs 2 <= K <= N <= 255 (the unlock threshold is K, and must be >= 2)');
        break;
      }
      case '--json':
        o.json = true;
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--save':
        o.save = path.resolve(value());
        break;
      case '--tmp':
        o.tmp = value();
        break;
      case '--only':
        o.only = value()
          .split(',')
          .map((s) => s.trim());
        for (const t of o.only) if (!ALL.includes(t)) throw new Error(`--only: unknown tool ${t} (${ALL.join(', ')})`);
        break;
      case '--no-install':
        o.install = false;
        break;
      case '--build':
        o.build = true;
        break;
      case '--cli':
        CLI = path.resolve(value());
        CLI_ROOT = path.dirname(path.dirname(CLI));
        BUNDLE = path.join(CLI_ROOT, 'out', 'cli', 'shardvault.mjs');
        break;
      case '--rss':
        o.mode = 'rss';
        break;
      case '--profile':
        o.mode = 'profile';
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (o.size === null) o.size = o.mode === 'rss' ? 4 * 2 ** 30 : 256 * 2 ** 20;
  return o;
}

// ------------------------------------------------------------------ helpers

const mb = (bytes) => bytes / 1e6;
const fmtSize = (bytes) =>
  bytes >= 2 ** 30 && bytes % 2 ** 30 === 0
    ? `${bytes / 2 ** 30} GiB`
    : bytes >= 2 ** 20
      ? `${+(bytes / 2 ** 20).toFixed(1)} MiB`
      : `${bytes} B`;

function log(o, text) {
  // Progress goes to stderr so that --json keeps stdout to one document.
  if (!o.quiet) process.stderr.write(`${text}\n`);
}

function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir || '.', cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  const git = spawnSync('git', ['-C', CLI_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', CLI_ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' });
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu: model,
    cpuFlags: ['aes', 'pclmulqdq', 'avx2', 'avx512f', 'sha_ni'].filter((f) => flags.includes(f)),
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    // Other work on the machine skews absolute numbers (ratios within one run less so).
    loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
    kernel: os.release(),
    node: process.version,
    cli: CLI,
    commit: git.status === 0 ? git.stdout.trim() + (dirty.stdout.trim() ? ' (src modified)' : '') : null,
  };
}

async function makeInput(file, size) {
  const handle = await fs.open(file, 'w');
  const chunk = Buffer.allocUnsafe(Math.min(size, 4 << 20));
  const hash = createHash('sha256');
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(chunk.length, size - done);
      randomFillSync(chunk, 0, n);
      hash.update(chunk.subarray(0, n));
      await handle.write(chunk, 0, n);
      done += n;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/**
 * Reads a file through the page cache and discards it: every tool starts with its input
 * cached (rclone drops its source from the cache with fadvise DONTNEED as it reads it, which
 * would otherwise make the next tool read from disk).
 */
async function warm(file) {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(4 << 20);
    while ((await handle.read(buffer, 0, buffer.length, null)).bytesRead > 0);
  } finally {
    await handle.close();
  }
}

/**
 * Writes back every dirty page (sync(1)) before a timed process, so that no tool pays for
 * the writeback of the files the one before it left in the page cache.
 */
function flushDirty() {
  spawnSync('sync');
}

async function sha256File(file) {
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 4 << 20 })) hash.update(chunk);
  } finally {
    await handle.close().catch(() => undefined);
  }
  return hash.digest('hex');
}

/** Sum of the sizes of the regular files under `dir`. */
async function bytesUnder(dir) {
  let total = 0;
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await bytesUnder(p);
    else if (e.isFile()) total += (await fs.stat(p)).size;
  }
  return total;
}

async function emptyDir(dir) {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
}

/**
 * Runs one process to completion and measures it: wall seconds (spawn to exit, as a user
 * sees it), peak RSS in KiB, user+system CPU seconds (GNU time only). Throws on a non-zero exit.
 */
async function measure(cmd, args, { env, cwd } = {}) {
  const gnuTime = existsSync(GNU_TIME);
  const statFile = path.join(os.tmpdir(), `bench-time-${process.pid}-${randomBytes(4).toString('hex')}`);
  const argv = gnuTime ? ['-f', '%M %U %S', '-o', statFile, cmd, ...args] : args;
  const started = process.hrtime.bigint();
  const child = spawn(gnuTime ? GNU_TIME : cmd, argv, {
    env: env ?? process.env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-4000)));
  let polledHwm = 0;
  let poll = null;
  if (!gnuTime) {
    const read = () => {
      try {
        const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) polledHwm = Math.max(polledHwm, Number(m[1]));
      } catch {
        /* gone */
      }
    };
    poll = setInterval(read, 10);
  }
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c, signal) => resolve(signal ? `signal ${signal}` : c));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (poll) clearInterval(poll);
  let rssKiB = polledHwm || null;
  let cpuSeconds = null;
  if (gnuTime) {
    const text = await fs.readFile(statFile, 'utf8').catch(() => '');
    await fs.rm(statFile, { force: true });
    // GNU time writes "Command exited with non-zero status N" first when it fails.
    const last = text.trim().split('\n').pop() ?? '';
    const [rss, user, sys] = last.split(' ').map(Number);
    if (Number.isFinite(rss)) rssKiB = rss;
    if (Number.isFinite(user) && Number.isFinite(sys)) cpuSeconds = user + sys;
  }
  if (code !== 0) {
    throw new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} ... exited with ${code}: ${output.trim()}`);
  }
  return { seconds, rssKiB, cpuSeconds };
}

// ------------------------------------------------------------------ tools
//
// Each tool: available() -> null or a reason to skip; setup(ctx); put(ctx, run) and
// get(ctx, run, output) each return the measure() of one process; stored(ctx, run) -> bytes.

const ZFEC_ENCODE = `
# zfec K-of-N encode with zfec.easyfec, streaming: each chunk of K*BLOCK input bytes
# becomes one block per share file. Header per share: k, n, share number, file size.
import os, struct, sys
from zfec import easyfec
k, n, src, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
BLOCK = 1 << 20
size = os.stat(src).st_size
enc = easyfec.Encoder(k, n)
outs = [open(os.path.join(outdir, "share.%03d" % i), "wb") for i in range(n)]
for i, f in enumerate(outs):
    f.write(struct.pack(">BBBQ", k, n, i, size))
with open(src, "rb") as f:
    while True:
        chunk = f.read(k * BLOCK)
        if not chunk:
            break
        for out, block in zip(outs, enc.encode(chunk)):
            out.write(block)
for f in outs:
    f.close()
`;

const ZFEC_DECODE = `
# Decodes the file from the K share files given (any K of the N).
import struct, sys
from zfec import easyfec
out_path, shares = sys.argv[1], sys.argv[2:]
BLOCK = 1 << 20
files = [open(p, "rb") for p in shares]
heads = [struct.unpack(">BBBQ", f.read(11)) for f in files]
k, n, _, size = heads[0]
assert len(files) >= k, "need %d shares" % k
files, nums = files[:k], [h[2] for h in heads[:k]]
dec = easyfec.Decoder(k, n)
done = 0
with open(out_path, "wb") as out:
    while done < size:
        remaining = size - done
        block = BLOCK if remaining >= k * BLOCK else -(-remaining // k)
        blocks = [f.read(block) for f in files]
        take = min(remaining, k * block)
        out.write(dec.decode(blocks, nums, k * block - take))
        done += take
`;

function tools(o) {
  const shardvaultEnv = (ctx) => ({
    ...process.env,
    SHARDVAULT_HOME: path.join(ctx.dir, 'sv-home'),
    SHARDVAULT_PASSPHRASE: ctx.passphrase,
  });
  const svLocations = (ctx) => Array.from({ length: o.n }, (_, i) => path.join(ctx.dir, `sv-loc${i + 1}`));
  const zfecShares = (ctx) => path.join(ctx.dir, 'zfec-shares');
  const gfShares = (ctx) => path.join(ctx.dir, 'gf-shares');
  const rcloneStore = (ctx) => path.join(ctx.dir, 'rclone-store');
  const rclone = (ctx, ...args) => measure('rclone', ['--config', path.join(ctx.dir, 'rclone.conf'), '-q', ...args]);

  return [
    {
      id: 'shardvault',
      label: 'shardvault',
      detail: `${o.k}-of-${o.n}, t=${o.k}, ${o.n} local folders, CLI`,
      available: () => (existsSync(BUNDLE) ? null : 'the CLI is not built: run `npm run build:cli` (or pass --build)'),
      async setup(ctx) {
        const locations = svLocations(ctx);
        for (const l of locations) await fs.mkdir(l, { recursive: true });
        await measure(
          process.execPath,
          [
            CLI,
            'init',
            ...locations.flatMap((l) => ['--location', l]),
            '--survive',
            String(o.n - o.k),
            '--secret-against',
            String(o.k - 1),
            '--kdf-cost',
            '10',
            '--json',
          ],
          { env: shardvaultEnv(ctx) },
        );
      },
      async put(ctx, run) {
        const before = (await Promise.all(svLocations(ctx).map(bytesUnder))).reduce((a, b) => a + b, 0);
        const m = await measure(process.execPath, [CLI, 'put', ctx.input, '--name', `bench-${run}`, '--json'], {
          env: shardvaultEnv(ctx),
        });
        const after = (await Promise.all(svLocations(ctx).map(bytesUnder))).reduce((a, b) => a + b, 0);
        return { ...m, stored: after - before };
      },
      get: (ctx, run, output) =>
        measure(process.execPath, [CLI, 'get', `bench-${run}`, '--output', output, '--force', '--json'], {
          env: shardvaultEnv(ctx),
        }),
    },
    {
      id: 'rclone',
      label: 'rclone crypt',
      detail: 'copyto a crypt remote over one local folder',
      available: () => (which('rclone') ? null : 'rclone is not installed (Debian package rclone)'),
      async setup(ctx) {
        const obscured = spawnSync('rclone', ['obscure', ctx.passphrase], { encoding: 'utf8' });
        if (obscured.status !== 0) throw new Error(`rclone obscure failed: ${obscured.stderr}`);
        await fs.writeFile(
          path.join(ctx.dir, 'rclone.conf'),
          `[bench]\ntype = crypt\nremote = ${rcloneStore(ctx)}\npassword = ${obscured.stdout.trim()}\n`,
          { mode: 0o600 },
        );
        const version = spawnSync('rclone', ['version'], { encoding: 'utf8' }).stdout.split('\n')[0];
        this.detail += ` (${version})`;
      },
      async put(ctx) {
        // An existing destination of the same size and time would be skipped: start empty.
        await emptyDir(rcloneStore(ctx));
        const m = await rclone(ctx, 'copyto', ctx.input, 'bench:file');
        return { ...m, stored: await bytesUnder(rcloneStore(ctx)) };
      },
      get: (ctx, run, output) => rclone(ctx, 'copyto', 'bench:file', output),
    },
    {
      id: 'zfec',
      label: `zfec ${o.k}-of-${o.n}`,
      detail: 'python3-zfec, zfec.easyfec, 1 MiB blocks; get from shares 0..k-1',
      available() {
        if (!existsSync(DEBIAN_PYTHON)) return `${DEBIAN_PYTHON} is missing`;
        const r = spawnSync(DEBIAN_PYTHON, ['-c', 'import zfec, zfec.easyfec; print(zfec.__version__)'], {
          encoding: 'utf8',
        });
        if (r.status !== 0) return `${DEBIAN_PYTHON} can't import zfec.easyfec (Debian package python3-zfec)`;
        this.detail = `python3-zfec ${r.stdout.trim()}, zfec.easyfec, 1 MiB blocks; get from shares 0..k-1`;
        return null;
      },
      async setup(ctx) {
        await fs.writeFile(path.join(ctx.dir, 'zfec-encode.py'), ZFEC_ENCODE);
        await fs.writeFile(path.join(ctx.dir, 'zfec-decode.py'), ZFEC_DECODE);
      },
      async put(ctx) {
        await emptyDir(zfecShares(ctx));
        const m = await measure(DEBIAN_PYTHON, [
          path.join(ctx.dir, 'zfec-encode.py'),
          String(o.k),
          String(o.n),
          ctx.input,
          zfecShares(ctx),
        ]);
        return { ...m, stored: await bytesUnder(zfecShares(ctx)) };
      },
      // Shares 0..k-1 hold the data blocks (zfec is systematic), as Shardvault's get reads
      // its k data shards when they are all there.
      get: (ctx, run, output) =>
        measure(DEBIAN_PYTHON, [
          path.join(ctx.dir, 'zfec-decode.py'),
          output,
          ...Array.from({ length: o.k }, (_, i) => path.join(zfecShares(ctx), `share.${String(i).padStart(3, '0')}`)),
        ]),
    },
    {
      id: 'gfsplit',
      label: `gfsplit ${o.k}-of-${o.n}`,
      detail: 'libgfshare-bin gfsplit / gfcombine from k shares',
      available: () =>
        which('gfsplit') && which('gfcombine')
          ? null
          : 'gfsplit/gfcombine are not installed (Debian package libgfshare-bin)',
      async put(ctx) {
        await emptyDir(gfShares(ctx));
        const m = await measure('gfsplit', [
          '-n',
          String(o.k),
          '-m',
          String(o.n),
          ctx.input,
          path.join(gfShares(ctx), 'share'),
        ]);
        return { ...m, stored: await bytesUnder(gfShares(ctx)) };
      },
      async get(ctx, run, output) {
        const shares = (await fs.readdir(gfShares(ctx))).sort().slice(0, o.k);
        return measure('gfcombine', ['-o', output, ...shares.map((s) => path.join(gfShares(ctx), s))]);
      },
    },
    {
      id: 'cp',
      label: 'cp',
      detail: 'plain copy in and out, no fsync: the page-cache ceiling',
      available: () => (which('cp') ? null : 'no cp'),
      async put(ctx) {
        const m = await measure('cp', [ctx.input, path.join(ctx.dir, 'cp-store')]);
        return { ...m, stored: (await fs.stat(path.join(ctx.dir, 'cp-store'))).size };
      },
      get: (ctx, run, output) => measure('cp', [path.join(ctx.dir, 'cp-store'), output]),
    },
    {
      id: 'cp-fsync',
      label: 'cp + fsync',
      detail:
        'cp then `sync FILE` (fsync of that file): the durable-write ceiling; Shardvault fsyncs shards and output',
      available: () => (which('cp') && which('sync') && which('sh') ? null : 'no cp, sync or sh'),
      async put(ctx) {
        const store = path.join(ctx.dir, 'cpf-store');
        const m = await measure('sh', ['-c', 'cp "$1" "$2" && sync "$2"', 'sh', ctx.input, store]);
        return { ...m, stored: (await fs.stat(store)).size };
      },
      get: (ctx, run, output) =>
        measure('sh', ['-c', 'cp "$1" "$2" && sync "$2"', 'sh', path.join(ctx.dir, 'cpf-store'), output]),
    },
  ].filter((t) => !o.only || o.only.includes(t.id));
}

// Issue 6's targets: Shardvault's plaintext MB/s over the peer's, as ratios.
const TARGETS = [
  { peer: 'rclone', op: 'put', min: 1.5, text: 'put >= 1.5x rclone crypt' },
  { peer: 'rclone', op: 'get', min: 1.2, text: 'get >= 1.2x rclone crypt' },
  { peer: 'zfec', op: 'put', min: 5, text: 'put >= 5x zfec (easyfec)' },
  { peer: 'gfsplit', op: 'put', min: 10, text: 'put >= 10x gfsplit' },
];

// ------------------------------------------------------------------ modes

async function withTempDir(o, work) {
  await fs.mkdir(o.tmp, { recursive: true });
  const dir = await fs.mkdtemp(path.join(o.tmp, 'shardvault-bench-'));
  let interrupted = false;
  const onSignal = (sig) => {
    interrupted = true;
    if (!o.keep) spawnSync('rm', ['-rf', dir]);
    process.stderr.write(`\nbench: ${sig}, ${o.keep ? `kept ${dir}` : 'removed the temporary folder'}\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(dir);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!interrupted) {
      if (o.keep) log(o, `bench: kept ${dir}`);
      else await fs.rm(dir, { recursive: true, force: true });
    }
  }
}

function ensurePeers(o, list) {
  const missing = list.filter((t) => t.id !== 'shardvault' && t.available());
  if ((missing.length === 0 && existsSync(GNU_TIME)) || !o.install) return;
  log(o, `bench: ${missing.map((t) => t.id).join(', ') || 'GNU time'} missing; running scripts/bench-peers.sh`);
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'bench-peers.sh')], { encoding: 'utf8' });
  for (const line of `${r.stdout}${r.stderr}`.trim().split('\n')) log(o, `  ${line}`);
}

function build(o) {
  if (o.build) {
    log(o, 'bench: npm run build:cli');
    const r = spawnSync('npm', ['run', 'build:cli'], { cwd: CLI_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error('npm run build:cli failed');
    return;
  }
  if (!existsSync(BUNDLE)) return;
  // Warn when the bundle is older than the engine sources it should hold.
  const built = statSync(BUNDLE).mtimeMs;
  const newer = spawnSync(
    'find',
    [path.join(CLI_ROOT, 'src', 'core'), path.join(CLI_ROOT, 'src', 'cli'), '-newer', BUNDLE, '-name', '*.ts'],
    {
      encoding: 'utf8',
    },
  ).stdout.trim();
  if (newer)
    log(o, `bench: warning: src is newer than out/cli (built ${new Date(built).toISOString()}); --build rebuilds it`);
}

async function compare(o) {
  const list = tools(o);
  ensurePeers(o, list);
  const rssMethod = existsSync(GNU_TIME)
    ? 'GNU time %M (ru_maxrss of the child)'
    : '/proc/<pid>/status VmHWM polled every 10 ms (lower bound)';
  const info = machine();
  log(
    o,
    `bench: ${fmtSize(o.size)} random file, best of ${o.runs}, ${info.nproc} CPU (${info.cpu}); RSS by ${rssMethod}`,
  );

  return withTempDir(o, async (dir) => {
    const ctx = { dir, input: path.join(dir, 'input.bin'), passphrase: randomBytes(12).toString('base64url') };
    const inputHash = await makeInput(ctx.input, o.size);
    const results = [];
    const live = [];
    for (const t of list) {
      const reason = t.available();
      const r = {
        id: t.id,
        tool: t.label,
        detail: t.detail,
        skipped: reason,
        error: null,
        put: [],
        get: [],
        stored: null,
      };
      results.push(r);
      if (reason) {
        log(o, `bench: skipping ${t.label}: ${reason}`);
        continue;
      }
      try {
        await t.setup?.(ctx);
        r.detail = t.detail;
        live.push([t, r]);
      } catch (err) {
        r.error = `setup: ${err.message}`;
        log(o, `bench: ${t.label} setup failed: ${err.message}`);
      }
    }
    // Round robin: run r of every tool before run r+1 of any, so drift in the machine's
    // speed spreads over all tools instead of landing on one.
    for (let run = 1; run <= o.runs; run++) {
      for (const [t, r] of live) {
        if (r.error) continue;
        const output = path.join(dir, `out-${t.id}`);
        try {
          await fs.rm(output, { force: true });
          await warm(ctx.input);
          flushDirty();
          const put = await t.put(ctx, run);
          r.stored = put.stored;
          r.put.push({ seconds: put.seconds, rssKiB: put.rssKiB, cpuSeconds: put.cpuSeconds });
          flushDirty();
          const get = await t.get(ctx, run, output);
          r.get.push({ seconds: get.seconds, rssKiB: get.rssKiB, cpuSeconds: get.cpuSeconds });
          const got = await sha256File(output);
          await fs.rm(output, { force: true });
          if (got !== inputHash) throw new Error('the file read back differs from the input');
          log(
            o,
            `bench: run ${run}/${o.runs} ${t.label.padEnd(16)} put ${put.seconds.toFixed(2)} s  get ${get.seconds.toFixed(2)} s`,
          );
        } catch (err) {
          r.error = err.message;
          log(o, `bench: ${t.label} failed: ${err.message}`);
        }
      }
    }
    return report(o, info, rssMethod, results);
  });
}

function summarise(o, r) {
  const best = (xs) => (xs.length ? xs.reduce((a, b) => (b.seconds < a.seconds ? b : a)) : null);
  const side = (xs) => {
    const b = best(xs);
    if (!b || xs.length < o.runs) return null;
    return {
      bestSeconds: +b.seconds.toFixed(4),
      mbps: +(mb(o.size) / b.seconds).toFixed(1),
      // Peak RSS: the largest over the runs, in MiB. CPU: of the best run, as % of one core.
      peakRssMiB: xs.every((x) => x.rssKiB) ? +(Math.max(...xs.map((x) => x.rssKiB)) / 1024).toFixed(1) : null,
      cpuSeconds: b.cpuSeconds === null ? null : +b.cpuSeconds.toFixed(2),
      cpuPercent: b.cpuSeconds === null ? null : Math.round((b.cpuSeconds / b.seconds) * 100),
      runsSeconds: xs.map((x) => +x.seconds.toFixed(4)),
    };
  };
  return {
    id: r.id,
    tool: r.tool,
    detail: r.detail,
    skipped: r.skipped,
    error: r.error,
    put: r.error ? null : side(r.put),
    get: r.error ? null : side(r.get),
    storedRatio: r.stored === null || r.error ? null : +(r.stored / o.size).toFixed(3),
  };
}

function report(o, info, rssMethod, raw) {
  const rows = raw.map((r) => summarise(o, r));
  const sv = rows.find((r) => r.id === 'shardvault');
  const ratio = (peer, op) => {
    const p = rows.find((r) => r.id === peer);
    if (!sv?.[op] || !p?.[op]) return null;
    return +(sv[op].mbps / p[op].mbps).toFixed(2);
  };
  for (const r of rows) {
    r.shardvaultRatio = r.id === 'shardvault' ? null : { put: ratio(r.id, 'put'), get: ratio(r.id, 'get') };
  }
  const targets = TARGETS.filter((t) => rows.some((r) => r.id === t.peer)).map((t) => {
    const value = ratio(t.peer, t.op);
    return { ...t, ratio: value, met: value === null ? null : value >= t.min };
  });
  const doc = {
    bench: 'shardvault',
    date: new Date().toISOString(),
    machine: { ...info, loadAverageEnd: os.loadavg().map((l) => +l.toFixed(2)) },
    config: {
      sizeBytes: o.size,
      runs: o.runs,
      policy: { data: o.k, total: o.n, threshold: o.k },
      locations: 'local',
      mbps: 'decimal MB (1e6 bytes) of plaintext per second, best of runs, whole process wall time',
      rss: rssMethod,
    },
    tools: rows,
    targets,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return doc;
  }
  const f = (v, digits = 1) => (v === null || v === undefined ? '-' : v.toFixed(digits));
  const x = (v) => (v === null || v === undefined ? '-' : `${v.toFixed(2)}x`);
  const table = [
    ['tool', 'put MB/s', 'get MB/s', 'stored/plain', 'RSS put MiB', 'RSS get MiB', 'CPU s put/get', 'SV put', 'SV get'],
  ];
  for (const r of rows) {
    if (r.skipped || r.error) {
      table.push([r.tool, r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.error.split('\n')[0].slice(0, 100)}`]);
      continue;
    }
    table.push([
      r.tool,
      f(r.put?.mbps),
      f(r.get?.mbps),
      f(r.storedRatio, 3),
      f(r.put?.peakRssMiB),
      f(r.get?.peakRssMiB),
      `${f(r.put?.cpuSeconds, 2)}/${f(r.get?.cpuSeconds, 2)}`,
      r.id === 'shardvault' ? '' : x(r.shardvaultRatio?.put),
      r.id === 'shardvault' ? '' : x(r.shardvaultRatio?.get),
    ]);
  }
  const widths = table[0].map((_, c) =>
    Math.max(...table.filter((row) => row.length > 2).map((row) => String(row[c] ?? '').length)),
  );
  const lines = table.map((row) =>
    row.length <= 2
      ? `${row[0].padEnd(widths[0])}  ${row[1]}`
      : row.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  '),
  );
  const out = [
    '',
    `Shardvault bench: ${fmtSize(o.size)} random file, Shardvault ${o.k}-of-${o.n} (t = ${o.k}) over ${o.n} local folders, best of ${o.runs}`,
    `machine: ${info.nproc} CPU, ${info.cpu}, node ${info.node}, load ${info.loadAverage.join(' ')} at start, CLI ${info.cli}${info.commit ? ` (${info.commit})` : ''}`,
    `MB/s = 1e6 plaintext bytes per second of whole-process wall time; RSS = peak, largest of the runs (${rssMethod});`,
    'CPU s = user+system seconds of the best run, all threads (less sensitive to other load than wall time);',
    "SV put/get = Shardvault MB/s over the tool's (above 1 = Shardvault faster)",
    '',
    ...lines,
    '',
    'Targets (issue 6):',
    ...(targets.length ? [] : ['  (no peer with a target was measured)']),
    ...targets.map(
      (t) =>
        `  ${t.text.padEnd(28)} ${(t.ratio === null ? '-' : `${t.ratio.toFixed(2)}x`).padStart(7)}  ${t.met === null ? 'not measured' : t.met ? 'met' : 'NOT MET'}`,
    ),
    '',
  ];
  process.stdout.write(out.join('\n'));
  return doc;
}

/** One Shardvault vault, one put and one get of the input, with extra node flags; returns the measures. */
async function shardvaultOnce(o, dir, nodeFlags = []) {
  const t = tools({ ...o, only: ['shardvault'] })[0];
  const reason = t.available();
  if (reason) throw new Error(reason);
  const ctx = { dir, input: path.join(dir, 'input.bin'), passphrase: randomBytes(12).toString('base64url') };
  log(o, `bench: writing ${fmtSize(o.size)} of random input`);
  const inputHash = await makeInput(ctx.input, o.size);
  await t.setup(ctx);
  flushDirty();
  const env = { ...process.env, SHARDVAULT_HOME: path.join(dir, 'sv-home'), SHARDVAULT_PASSPHRASE: ctx.passphrase };
  const output = path.join(dir, 'out.bin');
  log(o, 'bench: shardvault put');
  const put = await measure(
    process.execPath,
    [...nodeFlags('put'), CLI, 'put', ctx.input, '--name', 'bench-1', '--json'],
    {
      env,
    },
  );
  await fs.rm(ctx.input, { force: true }); // free the disk for the output
  flushDirty();
  log(o, 'bench: shardvault get');
  const get = await measure(
    process.execPath,
    [...nodeFlags('get'), CLI, 'get', 'bench-1', '--output', output, '--force', '--json'],
    { env },
  );
  const same = (await sha256File(output)) === inputHash;
  await fs.rm(output, { force: true });
  if (!same) throw new Error('the file read back differs from the input');
  return { put, get };
}

async function rssMode(o) {
  const rssMethod = existsSync(GNU_TIME) ? 'GNU time %M' : '/proc/<pid>/status VmHWM polled (lower bound)';
  const info = machine();
  return withTempDir(o, async (dir) => {
    const { put, get } = await shardvaultOnce(o, dir, () => []);
    const side = (m) => ({
      seconds: +m.seconds.toFixed(3),
      mbps: +(mb(o.size) / m.seconds).toFixed(1),
      peakRssMiB: m.rssKiB ? +(m.rssKiB / 1024).toFixed(1) : null,
      met: m.rssKiB ? m.rssKiB / 1024 <= 256 : null,
    });
    const doc = {
      bench: 'shardvault-rss',
      date: new Date().toISOString(),
      machine: info,
      config: { sizeBytes: o.size, policy: { data: o.k, total: o.n, threshold: o.k }, rss: rssMethod },
      target: 'peak RSS <= 256 MiB for a put and a get of a 4 GiB file',
      put: side(put),
      get: side(get),
    };
    if (o.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else {
      const line = (op, s) =>
        `  ${op}  peak RSS ${s.peakRssMiB ?? '-'} MiB  ${s.met === null ? '' : s.met ? '(<= 256 MiB: met)' : '(> 256 MiB: NOT MET)'}   [${s.seconds} s, ${s.mbps} MB/s]`;
      process.stdout.write(
        [
          '',
          `Shardvault peak RSS: ${fmtSize(o.size)} file, ${o.k}-of-${o.n} over ${o.n} local folders (${rssMethod})`,
          line('put', doc.put),
          line('get', doc.get),
          o.size < 4 * 2 ** 30 ? "  (the issue's target is for a 4 GiB file: --rss --size 4G)" : '',
          '',
        ].join('\n'),
      );
    }
    return doc;
  });
}

// ------------------------------------------------------------------ profile

/** Self time per function from a .cpuprofile, with bundle positions mapped to src/ by the source map. */
function summariseProfile(file, top = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let map = null;
  try {
    map = new SourceMap(JSON.parse(readFileSync(`${BUNDLE}.map`, 'utf8')));
  } catch {
    /* no map: bundle positions */
  }
  const where = (cf) => {
    if (!cf.url) return '';
    if (cf.url.endsWith('/out/cli/shardvault.mjs') && map && cf.lineNumber >= 0) {
      const e = map.findEntry(cf.lineNumber, cf.columnNumber);
      if (e?.originalSource) return `${e.originalSource.replace(/^.*?\/src\//, 'src/')}:${e.originalLine + 1}`;
    }
    return `${cf.url.replace(/^file:\/\/.*\/node_modules\//, '').replace(/^file:\/\//, '')}:${cf.lineNumber + 1}`;
  };
  const agg = new Map();
  const areas = new Map(); // by source file (or V8's pseudo-nodes: idle, GC, program)
  let total = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    const loc = where(cf);
    const key = `${cf.functionName || '(anonymous)'}\t${loc}`;
    agg.set(key, (agg.get(key) ?? 0) + us);
    const area = loc
      ? loc.replace(/:\d+$/, '')
      : cf.functionName.startsWith('(')
        ? cf.functionName
        : '(native, no script)';
    areas.set(area, (areas.get(area) ?? 0) + us);
    total += us;
  }
  const byArea = [...areas]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([area, us]) => ({ area, selfMs: Math.round(us / 1000), percent: +((us / total) * 100).toFixed(1) }));
  const rows = [...agg]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, us]) => {
      const [fn, loc] = key.split('\t');
      return { function: fn, where: loc, selfMs: Math.round(us / 1000), percent: +((us / total) * 100).toFixed(1) };
    });
  return { sampledMs: Math.round(total / 1000), top: rows, byArea };
}

async function profileMode(o) {
  const info = machine();
  return withTempDir(o, async (dir) => {
    const profDir = path.join(dir, 'prof');
    await fs.mkdir(profDir);
    const { put, get } = await shardvaultOnce(o, dir, (op) => [
      '--cpu-prof',
      `--cpu-prof-dir=${profDir}`,
      `--cpu-prof-name=${op}.cpuprofile`,
    ]);
    const doc = {
      bench: 'shardvault-profile',
      date: new Date().toISOString(),
      machine: info,
      config: { sizeBytes: o.size, policy: { data: o.k, total: o.n, threshold: o.k } },
      put: {
        seconds: +put.seconds.toFixed(3),
        cpuSeconds: put.cpuSeconds,
        ...summariseProfile(path.join(profDir, 'put.cpuprofile')),
      },
      get: {
        seconds: +get.seconds.toFixed(3),
        cpuSeconds: get.cpuSeconds,
        ...summariseProfile(path.join(profDir, 'get.cpuprofile')),
      },
    };
    if (o.keep) log(o, `bench: profiles in ${profDir} (open in Chrome DevTools > Performance)`);
    if (o.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else {
      const part = (op, p) => [
        `${op}: ${p.seconds} s wall, ${p.cpuSeconds?.toFixed(2) ?? '?'} s CPU (user+sys, all threads), main thread sampled ${p.sampledMs} ms`,
        `  ${'self ms'.padStart(8)} ${'%'.padStart(5)}  function  (where)`,
        ...p.top.map(
          (r) =>
            `  ${String(r.selfMs).padStart(8)} ${r.percent.toFixed(1).padStart(5)}  ${r.function}  ${r.where ? `(${r.where})` : ''}`,
        ),
        '  by file:',
        ...p.byArea.map((r) => `  ${String(r.selfMs).padStart(8)} ${r.percent.toFixed(1).padStart(5)}  ${r.area}`),
      ];
      process.stdout.write(
        [
          '',
          `Shardvault CPU profile (node --cpu-prof, main thread): ${fmtSize(o.size)}, ${o.k}-of-${o.n}`,
          ...part('put', doc.put),
          '',
          ...part('get', doc.get),
          '',
        ].join('\n'),
      );
    }
    return doc;
  });
}

// ------------------------------------------------------------------ main

try {
  const o = parseOptions(process.argv.slice(2));
  build(o);
  const doc = o.mode === 'rss' ? await rssMode(o) : o.mode === 'profile' ? await profileMode(o) : await compare(o);
  if (o.save) await fs.writeFile(o.save, `${JSON.stringify(doc, null, 2)}\n`);
} catch (err) {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exitCode = 1;
}
