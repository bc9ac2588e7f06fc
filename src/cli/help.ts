/**
 * `shardvault --help`, made from the command files (commands/): each command's usage and
 * summary, wrapped to the help's columns, then the notes every command shares.
 */
import { UNANCHORED } from '../shared/words';
import type { Command } from './command';
import { commands } from './commands';

/** The widest line help prints, and the column summaries start at. */
const WIDTH = 110;
const SUMMARY_COLUMN = 43;
/** Where a usage that runs over a line goes on. */
const USAGE_INDENT = '      ';

const HEADER = 'shardvault: keep files split, encrypted and spread over storage you already have';
const USAGE = 'usage: shardvault <command> [options]            --json may stand anywhere on the line';

const NOTES = `SPEC is a folder path, sftp://USER@HOST:PORT/PATH?identity=KEYFILE&fingerprint=SHA256:...,
webdav+http(s)://USER:PASSWORD@HOST:PORT/PATH, or s3(+http)://KEY:SECRET@HOST:PORT/BUCKET/PREFIX
[?region=R&style=virtual], or node+https://HOST:PORT/?fingerprint=SHA256:...&enrol=CODE (the line
\`node serve\` prints), optionally followed by #NAME (default loc1, loc2, ...).
--trust-new-host-key pins an SSH host key seen for the first time (scripts; a terminal asks).
--allow-insecure-http lets a WebDAV password or S3 requests go over plain http to another machine (init, open,
location add/edit); without it only this machine (127.0.0.0/8, ::1, localhost) gets one that way.
Profile: $SHARDVAULT_HOME, else $XDG_CONFIG_HOME/shardvault. Secrets: $SHARDVAULT_PASSPHRASE,
$SHARDVAULT_RECOVERY_CODE (with --recovery), $SHARDVAULT_OLD_PASSPHRASE (after a change on another
device), else a prompt on a terminal. A new passphrase must be hard to guess (refused, exit 2,
unless --weak-passphrase). --kdf-cost: scrypt N = 2^LOGN, 17..20
(default 17); --insecure-kdf-cost 10..20 is for tests only.
Exit codes: 0 ok, 1 error, 2 usage, 3 wrong or missing passphrase, 4 not enough locations,
5 busy, 6 verify found a problem (drill: something would be lost).
log marks an entry ${UNANCHORED.word} when ${UNANCHORED.explanation}`;

/** The whole help text. */
export function helpText(): string {
  return `${HEADER}\n\n${commandsHelp()}\n\n${NOTES}`;
}

/** The header and one entry per command (README.md's "CLI" block is this). */
export function commandsHelp(): string {
  return [USAGE, ...commands.flatMap((c) => (c.subcommands ?? [c]).flatMap(entry))].join('\n');
}

/** A command's lines: its usage (its name padded to the usual column), then its summary. */
function entry(c: Command): string[] {
  const usage = wrap(`${c.name.padEnd(5)} ${c.usage}`.trimEnd(), WIDTH - 2, USAGE_INDENT, true).map((l) => `  ${l}`);
  const summary = wrap(c.summary, WIDTH - SUMMARY_COLUMN, '', false).map((l) => ' '.repeat(SUMMARY_COLUMN) + l);
  const last = usage[usage.length - 1]!;
  if (last.length + 2 <= SUMMARY_COLUMN)
    usage[usage.length - 1] = last.padEnd(SUMMARY_COLUMN) + summary.shift()!.trim();
  return [...usage, ...summary];
}

/**
 * Words into lines of at most `width` (a longer word stands alone), later lines starting with
 * `indent`; a usage breaks only between its options, never inside [ ] or ( ).
 */
function wrap(text: string, width: number, indent: string, keepGroups: boolean): string[] {
  const words: string[] = [];
  let depth = 0;
  for (const piece of text.split(' ')) {
    if (keepGroups && depth > 0) words[words.length - 1] += ` ${piece}`;
    else words.push(piece);
    for (const ch of piece) depth += ch === '[' || ch === '(' ? 1 : ch === ']' || ch === ')' ? -1 : 0;
  }
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}
