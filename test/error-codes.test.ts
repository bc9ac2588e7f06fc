// Error codes are defined once (src/shared/errors.ts); the engine, the bridges and the CLI
// read that table. These tests hold the table to the CLI contract written in README.md and
// to the bridge's rule that only engine codes pass their message through.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ShardvaultError } from '../src/core/errors';
import {
  BRIDGE_ERROR_CODES,
  ENGINE_ERROR_CODES,
  exitCodeFor,
  httpStatusFor,
  isEngineErrorCode,
  isErrorCode,
} from '../src/shared/errors';
import { toBridgeError } from '../src/shared/ipc';

describe('error codes', () => {
  it('engine and bridge codes do not overlap', () => {
    const engine = new Set<string>(ENGINE_ERROR_CODES);
    expect(BRIDGE_ERROR_CODES.filter((c) => engine.has(c))).toEqual([]);
  });

  it('every exit status the README lists is one some code has, and no code has another', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const line = readme.slice(
      readme.indexOf('- Exit codes:'),
      readme.indexOf('found a problem.', readme.indexOf('- Exit codes:')),
    );
    const listed = new Set([...line.matchAll(/(\d) /g)].map((m) => Number(m[1])));
    const used = new Set(ENGINE_ERROR_CODES.map(exitCodeFor));
    expect([...used].sort()).toEqual([...listed].filter((n) => n !== 0).sort());
    expect(exitCodeFor('auth')).toBe(3);
    expect(exitCodeFor('verify')).toBe(6);
  });

  it('names only its own codes, not inherited properties', () => {
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('__proto__')).toBe(false);
    expect(isEngineErrorCode('internal')).toBe(false);
    expect(isErrorCode('internal')).toBe(true);
    expect(httpStatusFor('no-space')).toBe(507);
    expect(httpStatusFor('forbidden')).toBe(403);
  });

  it('the bridge passes an engine message through and hides any other', () => {
    expect(toBridgeError(new ShardvaultError('busy', 'held elsewhere'))).toEqual({
      code: 'busy',
      message: 'held elsewhere',
    });
    const foreign = Object.assign(new Error('https://u:pw@host/'), { code: 'ECONNRESET' });
    expect(toBridgeError(foreign).code).toBe('internal');
    expect(toBridgeError(foreign).message).not.toContain('pw');
  });
});
