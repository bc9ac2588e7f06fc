// Help is made from the command files (src/cli/commands/): every command and subcommand is
// in it with its usage and summary, the entries keep the help's columns, and
// README.md's "CLI" block is the same text, so the README cannot drift from the CLI.
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../src/cli/commands';
import { commandsHelp, helpText } from '../src/cli/help';
import { ROOT } from './helpers/cli';

describe('help', () => {
  const help = helpText();
  const leaves = commands.flatMap((c) => c.subcommands ?? [c]);

  it('lists every command and subcommand once, with its usage and summary', () => {
    expect(new Set(commands.map((c) => c.name)).size).toBe(commands.length);
    for (const c of leaves) {
      const line = help.split('\n').find((l) => l.startsWith(`  ${c.name.padEnd(5)} `) || l === `  ${c.name}`);
      expect(line, c.name).toBeDefined();
      // The usage, joined over its lines, and the summary's words, in order.
      const flat = help.replace(/\s+/g, ' ');
      expect(flat).toContain(c.usage.replace(/\s+/g, ' '));
      expect(flat).toContain(c.summary);
      expect(c.summary, `${c.name}: one line`).not.toMatch(/\n/);
    }
  });

  it('keeps the command entries within 110 columns, in their columns', () => {
    const [, ...entries] = commandsHelp().split('\n');
    for (const line of entries) {
      expect(line.length, line).toBeLessThanOrEqual(110);
      // a usage line, a usage's continuation, or a summary's at column 43
      expect(line, line).toMatch(/^( {2}| {8}| {43})\S/);
    }
  });

  it("is README.md's CLI block, word for word", async () => {
    const readme = await fs.readFile(nodePath.join(ROOT, 'README.md'), 'utf8');
    const block = /## CLI\n\n```\n([\s\S]*?)\n```/.exec(readme)?.[1];
    expect(block).toBe(commandsHelp());
  });
});
