/**
 * The CLI's tables. Columns are padded by display width, not by UTF-16 length: a name in
 * CJK or with an emoji takes two terminal cells per character, and `padEnd` would shift
 * every column after it (string-width measures as terminals draw).
 */
import stringWidth from 'string-width';
import type { PolicyJobStatus, StatusReport } from '../shared/api';
import { formatBytes, formatDuration } from '../shared/format';
import { locationTrouble } from '../shared/location-trouble';
import { guardWords, NEEDS_ENROLMENT } from '../shared/words';

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(stringWidth(h), ...rows.map((r) => stringWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - stringWidth(c))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/**
 * The status table keeps one line per location: an unreachable one says "no" and a word or
 * two there, and its whole reason follows the table, once (without the address the WHERE
 * column already shows).
 */
export function humanStatus(r: StatusReport): string {
  const v = r.vault;
  const reasons: string[] = [];
  const signIns: string[] = [];
  const rows = r.locations.map((l) => {
    let reachable = 'yes';
    if (l.signIn && l.kind === 'node') {
      reachable = NEEDS_ENROLMENT.word;
      signIns.push(`  ${l.name}: ${NEEDS_ENROLMENT.explanation}`);
    } else if (l.signIn) {
      reachable = 'needs sign-in';
      signIns.push(
        `  ${l.name}: its password or key was never given on this device: \`shardvault location login ${l.name}\``,
      );
    } else if (!l.reachable) {
      const short = l.error === null ? null : locationTrouble(l.error).short;
      reachable = short === null ? 'no' : `no: ${short}`;
      reasons.push(`  ${l.name}: ${l.error === null ? 'no answer' : withoutAddress(l.error, l.display)}`);
    }
    return [
      l.domain === null ? l.name : `${l.name} (${l.domain})`,
      l.kind,
      reachable,
      l.latencyMs === null ? '-' : `${Math.round(l.latencyMs)} ms`,
      l.freeBytes === null ? '-' : formatBytes(l.freeBytes),
      l.shards === null ? '-' : String(l.shards),
      l.lastSeen ?? 'never',
      l.display,
    ];
  });
  return [
    `Vault ${v.id}: k = ${v.data} of n = ${v.total}, unlock needs t = ${v.threshold}`,
    table(['LOCATION', 'KIND', 'REACHABLE', 'LATENCY', 'FREE', 'SHARDS', 'LAST SEEN', 'WHERE'], rows),
    ...(r.domainWarnings.length > 0 ? ['', 'Failure domains:', ...r.domainWarnings.map((w) => `  warning: ${w}`)] : []),
    ...(reasons.length > 0 ? ['', 'Unreachable:', ...reasons] : []),
    ...(signIns.length > 0
      ? ['', r.locations.some((l) => l.signIn && l.kind === 'node') ? 'Needs sign-in or enrolment:' : 'Needs sign-in:']
      : []),
    ...signIns,
    ...(r.guard ? [`Guarded files: ${guardWords(r.guard).words}.`] : []),
    ...r.locations
      .filter((l) => l.staged > 0)
      .map(
        (l) =>
          `${l.name}: ${l.staged} shard ${l.staged === 1 ? 'copy waits' : 'copies wait'} for it on the other locations` +
          (l.reachable ? ' (moved there at the next put, rm or repair)' : ' (until it is back)'),
      ),
    ...(r.policyJob ? [policyJobWords(r.policyJob)] : []),
    r.damaged > 0
      ? `${r.damaged} damaged shard ${r.damaged === 1 ? 'copy' : 'copies'} found by get or verify --deep: \`shardvault repair\` rebuilds ${r.damaged === 1 ? 'it' : 'them'}`
      : 'No damaged shard copies known on this device.',
  ].join('\n');
}

/** How far a change of policy is, in one line (status and policy status). */
export function policyJobWords(j: PolicyJobStatus, secondsLeft: number | null = null): string {
  const left = secondsLeft === null ? '' : `, about ${formatDuration(secondsLeft)} left`;
  return (
    `Changing the policy to k = ${j.data} of n = ${j.total}, t = ${j.threshold}: ` +
    `${j.filesDone} of ${j.files} files re-coded (${formatBytes(j.bytesDone)} of ${formatBytes(j.bytes)})${left}; ` +
    'files not re-coded yet keep their old coding'
  );
}

/** An error message without the "ADDRESS: " prefixes a location's errors start with. */
function withoutAddress(message: string, display: string): string {
  const rest = message.split(`${display}: `).join('').trim();
  return rest === '' ? message : rest;
}
