// The CLI's tables and the size words every front end shares (issue 10, "rough edges"):
// columns stay straight under names in CJK or with emoji, an unreachable location keeps its
// row short and its reason below the table, once; sizes read the same in the CLI and the UI.
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { humanStatus, table } from '../src/cli/format';
import type { LocationStatus, StatusReport } from '../src/shared/api';
import { formatBytes, plural } from '../src/shared/format';

/** The display column where each cell after the first starts, per line. */
function columnStarts(text: string, cells: readonly (readonly string[])[]): number[][] {
  return text.split('\n').map((line, row) => {
    const starts: number[] = [];
    let at = 0;
    for (const cell of cells[row]!) {
      const index = line.indexOf(cell, at);
      expect(index, `${cell} in ${line}`).toBeGreaterThanOrEqual(0);
      starts.push(stringWidth(line.slice(0, index)));
      at = index + cell.length;
    }
    return starts.slice(1);
  });
}

describe('table', () => {
  it('keeps columns straight under wide characters and emoji', () => {
    const headers = ['NAME', 'SIZE', 'HEALTH'];
    const rows = [
      ['taxes.pdf', '1.2 MB', 'healthy'],
      ['税金-2026.pdf', '3.4 kB', 'healthy'],
      ['한국어 문서.txt', '12 bytes', 'degraded'],
      ['📸 holiday.jpg', '5.0 MB', 'healthy'],
      ['👨‍👩‍👧 family.png', '9 bytes', 'lost'],
    ];
    const text = table(headers, rows);
    const starts = columnStarts(text, [headers, ...rows]);
    for (const line of starts) expect(line).toEqual(starts[0]);
  });
});

const vault: StatusReport['vault'] = {
  id: 'b62a223ab516e7baa4814a9c7925f8ee',
  data: 2,
  total: 3,
  threshold: 2,
  replicas: 1,
  segmentSize: 4 << 20,
  fingerprint: null,
};

function location(name: string, change: Partial<LocationStatus>): LocationStatus {
  return {
    name,
    kind: 'local',
    display: `/media/${name}/vault`,
    reachable: true,
    latencyMs: 1.4,
    freeBytes: 83_000_000_000,
    shards: 4,
    lastSeen: '2026-12-06T03:35:41.780Z',
    staged: 0,
    error: null,
    warning: null,
    signIn: null,
    domain: null,
    node: null,
    ...change,
  };
}

describe('status', () => {
  const dav = 'webdav+http://vault@nas.example:8080/remote.php/dav/files/vault/shardvault';
  const report: StatusReport = {
    vault,
    locked: true,
    damaged: 0,
    happy: 2,
    policyJob: null,
    domainWarnings: [],
    guard: null,
    locations: [
      location('usb', {}),
      location('dav', {
        kind: 'webdav',
        display: dav,
        reachable: false,
        latencyMs: null,
        freeBytes: null,
        shards: null,
        error: `${dav}: PROPFIND /remote.php/dav/files/vault/shardvault/: ${dav}: connect ECONNREFUSED 10.0.0.7:8080`,
      }),
      location('nas', {
        reachable: false,
        latencyMs: null,
        freeBytes: null,
        shards: null,
        error: '/media/nas/vault is not there (disk unplugged or folder removed)',
      }),
    ],
  };
  const text = humanStatus(report);
  const lines = text.split('\n');

  it('says "no" and a word or two in the REACHABLE column, and the reasons below, each once', () => {
    const dav = lines.find((l) => l.startsWith('dav '))!;
    const nas = lines.find((l) => l.startsWith('nas '))!;
    expect(dav).toMatch(/ {2}no: refused {2}/);
    expect(nas).toMatch(/ {2}no: not there {2}/);
    // The table's rows hold no error text: they stay as wide as their addresses need.
    for (const line of lines.slice(1, 4)) expect(line).not.toMatch(/ECONNREFUSED|PROPFIND|unplugged/);
    expect(text.split('connect ECONNREFUSED 10.0.0.7:8080').length - 1).toBe(1);
    expect(text.split('is not there (disk unplugged or folder removed)').length - 1).toBe(1);
    // The address shows once: in the WHERE column, not again in the reason.
    expect(text.split(report.locations[1]!.display).length - 1).toBe(1);
    expect(lines).toContain(
      '  dav: PROPFIND /remote.php/dav/files/vault/shardvault/: connect ECONNREFUSED 10.0.0.7:8080',
    );
  });

  it('does not print "(locked)": the status command never unlocks', () => {
    expect(lines[0]).toBe('Vault b62a223ab516e7baa4814a9c7925f8ee: k = 2 of n = 3, unlock needs t = 2');
  });

  it('prints latency in whole milliseconds and sizes the way the UI does', () => {
    expect(lines.find((l) => l.startsWith('usb '))).toMatch(/ {2}1 ms +83 GB +4 +2026/);
  });
});

describe('sizes and counts (one convention for the CLI and the UI)', () => {
  it.each([
    [0, '0 bytes'],
    [1, '1 byte'],
    [999, '999 bytes'],
    [1000, '1.0 kB'],
    [1500, '1.5 kB'],
    [999_999, '1.0 MB'],
    [48 * 1024 * 1024, '50 MB'],
    [83_000_000_000, '83 GB'],
  ])('%i bytes is "%s"', (bytes, words) => {
    expect(formatBytes(bytes)).toBe(words);
  });

  it('counts in plural-correct words', () => {
    expect(plural(1, 'location')).toBe('1 location');
    expect(plural(0, 'location')).toBe('0 locations');
    expect(plural(2, 'more loss', 'more losses')).toBe('2 more losses');
  });
});
