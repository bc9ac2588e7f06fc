#!/usr/bin/env node
// Entry point for `npx shardvault`: the CLI is bundled to out/cli by `npm run build:cli`
// (run by `prepare`, so `npm ci` leaves it ready).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../out/cli/shardvault.mjs', import.meta.url);
if (!existsSync(fileURLToPath(bundle))) {
  console.error('shardvault: the CLI is not built yet; run `npm run build:cli` in the project folder');
  process.exit(1);
}
await import(bundle.href);
