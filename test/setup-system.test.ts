// `npm test` installs the system packages the tests need itself (scripts/setup-system.sh
// first): on a fresh machine `npm ci && npm test` is the whole set-up. Where it cannot
// install without asking (not root, no password-less sudo), it stops at once with the one
// command to run, rather than waiting at a password prompt or failing later in a server test.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const SCRIPT = join(ROOT, 'scripts', 'setup-system.sh');

function run(options: { packages?: string; asNobody?: boolean }) {
  const command = options.asNobody
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'bash', SCRIPT]
    : ['bash', SCRIPT];
  const started = performance.now();
  const result = spawnSync(command[0]!, command.slice(1), {
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      ...(options.packages === undefined ? {} : { SHARDVAULT_SYSTEM_PACKAGES: options.packages }),
    },
  });
  return { ...result, ms: performance.now() - started };
}

const canDropRoot = process.getuid?.() === 0 && spawnSync('setpriv', ['--help']).status === 0;

describe('scripts/setup-system.sh', () => {
  it('is the first step of npm test', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['test']).toMatch(/^bash scripts\/setup-system\.sh && /);
    // and the README's two commands are the whole set-up
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toMatch(/\nnpm test {2,}#/);
  });

  it('with nothing missing: one line, exit 0, no apt-get', () => {
    const result = run({ packages: 'bash bash\nenv coreutils' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['setup-system: the packages the tests need are installed']);
  });

  it.skipIf(!canDropRoot)('without root or password-less sudo: stops at once and names the one command to run', () => {
    const result = run({ packages: 'no-such-command-4711 no-such-package', asNobody: true });
    expect(result.status).toBe(1);
    expect(result.ms).toBeLessThan(5_000);
    expect(result.stdout).toContain('missing  no-such-package (no-such-command-4711 not found)');
    expect(result.stderr).toContain('the tests need these Debian packages: no-such-package');
    expect(result.stderr).toContain(`  sudo bash ${SCRIPT}`);
    expect(result.stdout + result.stderr).not.toMatch(/apt-get update|password/i);
  });
});
