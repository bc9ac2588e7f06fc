// `npm start`: the desktop app where the Electron binary exists, else the demo vault over
// local folders (the binary cannot be downloaded on every machine; see README).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let electronBinary = null;
try {
  const dir = dirname(require.resolve('electron/package.json'));
  const pathTxt = join(dir, 'path.txt');
  if (existsSync(pathTxt)) electronBinary = join(dir, 'dist', readFileSync(pathTxt, 'utf8').trim());
} catch {
  electronBinary = null;
}
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit' }).status ?? 1;
if (electronBinary && existsSync(electronBinary)) {
  process.exit(run(process.execPath, [join('node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'preview']));
}
console.error('shardvault: no Electron binary on this machine; running the demo vault over local folders instead.');
process.exit(run(process.execPath, ['bin/shardvault.mjs', 'demo']));
