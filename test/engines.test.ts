// The Node.js version the README promises is the one package.json's "engines" says, and every
// locked package that wants more (npm ci prints EBADENGINE for each) is named in the README
// with what it is for, so the warnings a user sees on `npm ci` are the ones we told them of.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

type Version = readonly [number, number, number];

function parse(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : 0));
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Enough of npm's range grammar for the engines fields in the lockfile: ||, comparators,
 * ^, ~, x-ranges ("20", "6.*") and "*". */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split('||').some((set) => {
    const parts = set
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    return parts.every((part) => {
      if (part === '*' || part === 'x') return true;
      const match = /^(>=|<=|>|<|=|\^|~)?v?([\d.*x]+)$/.exec(part);
      if (!match) throw new Error(`cannot read the range ${JSON.stringify(range)}`);
      const [, op = '', text = ''] = match;
      const fields = text.split('.').filter((f) => f !== '*' && f !== 'x' && f !== '');
      const bound = parse(fields.join('.'));
      const cmp = compare(v, bound);
      switch (op) {
        case '>=':
          return cmp >= 0;
        case '>':
          return cmp > 0;
        case '<=':
          return cmp <= 0;
        case '<':
          return cmp < 0;
        case '^':
          return cmp >= 0 && (bound[0] > 0 ? v[0] === bound[0] : v[1] === bound[1]);
        case '~':
          return cmp >= 0 && v[0] === bound[0] && v[1] === bound[1];
        default:
          // "20", "6.*", "=1.2.3": every given field must match
          return fields.every((f, i) => v[i] === Number(f));
      }
    });
  });
}

describe('the Node.js version', () => {
  const promised = /Node\.js ≥ (\d+\.\d+)/.exec(readme)?.[1];

  it('the README promises what package.json engines says', () => {
    expect(promised).toBeDefined();
    expect(pkg.engines.node).toBe(`>=${promised}`);
  });

  it('names every locked package that wants a newer Node (npm warns about each)', () => {
    const wantMore = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && !Array.isArray(entry.engines) && entry.engines?.node)
      .filter(([, entry]) => !satisfies(`${promised}.0`, (entry.engines as { node: string }).node))
      .map(([path]) => path.split('node_modules/').pop()!);
    expect(wantMore.length).toBeGreaterThan(0); // else the README's paragraph on warnings can go
    for (const name of wantMore) expect(readme, `README should name ${name}`).toContain(`\`${name}\``);
  });

  it('reads the ranges the way npm does', () => {
    expect(satisfies('20.19.0', '>=20.19')).toBe(true);
    expect(satisfies('20.19.0', '>=22.12.0')).toBe(false);
    expect(satisfies('20.19.0', '^20.19.0 || ^22.13.0 || >=24')).toBe(true);
    expect(satisfies('20.19.0', '^20.17.0 || >=22.9.0')).toBe(true);
    expect(satisfies('20.19.0', '6.* || 8.* || >= 10.*')).toBe(true);
    expect(satisfies('20.19.0', '>=6 <7 || >=8')).toBe(true);
    expect(satisfies('20.19.0', '18 || 20 || >=22')).toBe(true);
    expect(satisfies('20.19.0', '^18.17.0 || >=20.5.0')).toBe(true);
    expect(satisfies('20.19.0', '^18.18.0 || ^20.9.0 || >=21.1.0')).toBe(true);
    expect(satisfies('20.19.0', '^20.0.0 || ^22.0.0 || >=24.0.0')).toBe(true);
    expect(satisfies('20.19.0', '^14.21.3 || >=16')).toBe(true);
    expect(satisfies('20.19.0', '^12.20.0 || >=14')).toBe(true);
    expect(satisfies('20.19.0', '^18.0.0')).toBe(false);
    expect(satisfies('20.19.0', '*')).toBe(true);
  });
});
