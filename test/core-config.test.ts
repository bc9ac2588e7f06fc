// The engine takes its configuration from the front end (src/core/config.ts): nothing in
// src/core reads process.env or writes to a stream itself, and the front ends' environment
// is read one way.
import { readdirSync, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnvironment, DEFAULT_READ_TIMEOUT_MS } from '../src/core/config';
import { ROOT } from './helpers/cli';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(nodePath.join(dir, e.name)) : e.name.endsWith('.ts') ? [nodePath.join(dir, e.name)] : [],
  );
}

/** The code of a file, its comments taken out. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('engine configuration', () => {
  it('src/core reads no environment and writes to no stream', () => {
    const found: string[] = [];
    const files = sources(nodePath.join(ROOT, 'src', 'core'));
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const lines = code(readFileSync(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (/process\.(env|stderr|stdout)|console\.(log|error|warn|info)/.test(line))
          found.push(`${nodePath.relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });

  it('reads the front end’s environment: read timeout, worker, the variables themselves', () => {
    const env = { SHARDVAULT_READ_TIMEOUT_MS: '1500', SHARDVAULT_NO_WORKER: '1', HOME: '/home/x' };
    expect(configFromEnvironment(env)).toEqual({ env, readTimeoutMs: 1500, sealWorker: false });
    for (const bad of ['', '0', '-5', 'soon', 'Infinity'])
      expect(configFromEnvironment({ SHARDVAULT_READ_TIMEOUT_MS: bad }).readTimeoutMs).toBe(DEFAULT_READ_TIMEOUT_MS);
    expect(configFromEnvironment({}).sealWorker).toBe(true);
  });
});
