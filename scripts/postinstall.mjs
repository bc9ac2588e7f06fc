// Electron's own install script (which downloads the Electron binary) is denied in
// package.json "allowScripts", so that `npm ci` cannot fail on a machine that cannot
// download it. Here we run it ourselves: on a user's machine it fetches Electron; where it
// can't, we say so and go on, since the CLI and the web UI need no Electron binary.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let electronDir;
try {
  electronDir = dirname(require.resolve('electron/package.json'));
} catch {
  process.exit(0); // production install without devDependencies: nothing to fetch
}
if (existsSync(join(electronDir, 'path.txt'))) process.exit(0);

const result = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
  stdio: ['ignore', 'inherit', 'pipe'],
  timeout: 180_000,
  encoding: 'utf8',
});
if (result.status === 0 && existsSync(join(electronDir, 'path.txt'))) {
  console.log('shardvault: Electron binary installed.');
} else {
  const lines = (result.stderr || result.error?.message || '').trim().split('\n');
  const why = (lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '').trim();
  console.warn(
    'shardvault: the Electron binary could not be downloaded' +
      (why ? ` (${why.slice(0, 200)})` : '') +
      '.\nshardvault: going on without it: the CLI (npx shardvault) and the web UI (npx shardvault serve) work;' +
      '\nshardvault: run `node node_modules/electron/install.js` once you are online to get the desktop app.',
  );
}
