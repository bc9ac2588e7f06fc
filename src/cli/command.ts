/**
 * One CLI command: the word after `shardvault`, its usage, what it does, and how it runs.
 * Help (help.ts) and usage errors are made from these fields; see commands/index.ts for how
 * to add one. The table there holds the fields; a command's code (`Run`) is loaded when it runs.
 */
import { UsageError } from '../core/errors';
import type { Parsed } from './args';
import type { Io } from './context';

export interface Command {
  /** The word after `shardvault`; a subcommand's is its parent's and its own (`location add`). */
  readonly name: string;
  /** Its arguments and options after the name, as help and usage errors show them ('' for none). */
  readonly usage: string;
  /** What it does, for help: one line of plain words (help wraps it). */
  readonly summary: string;
  /** Runs it; resolves to the exit code (errors thrown are reported by main.ts). */
  run(args: Parsed, io: Io): Promise<number>;
  /** Its subcommands (`location add`, ...): help lists each; `run` dispatches to them. */
  readonly subcommands?: readonly Command[];
}

/**
 * A command's code: what `run` does, given the command itself (for its usage in a usage
 * error). Each lives in its own module of commands/, imported only when that command runs.
 */
export type Run = (args: Parsed, io: Io, self: Command) => Promise<number>;

/**
 * The command `info` (name, usage, summary: what help needs) whose code `load` imports when
 * it runs, so that a command loads only the code it uses.
 */
export function lazyCommand(info: Pick<Command, 'name' | 'usage' | 'summary'>, load: () => Promise<Run>): Command {
  const command: Command = { ...info, run: async (args, io) => (await load())(args, io, command) };
  return command;
}

/** `name usage`, as after `usage: shardvault `. */
export function usageOf(command: Pick<Command, 'name' | 'usage'>): string {
  return command.usage === '' ? command.name : `${command.name} ${command.usage}`;
}

/** A usage error (exit 2) quoting the command's usage. */
export function usageError(command: Pick<Command, 'name' | 'usage'>): UsageError {
  return new UsageError(`usage: shardvault ${usageOf(command)}`);
}

/** Refuses (exit 2, quoting the usage) unless exactly `count` positional arguments were given. */
export function expectArguments(args: Parsed, count: number, command: Command): void {
  if (args.positional.length !== count) throw usageError(command);
}

/**
 * A command whose word is followed by a subcommand's (`location add`, `node serve`): its usage
 * lists theirs, help lists each, and `run` dispatches to the one named (else a usage error).
 */
export function parentCommand(name: string, summary: string, subcommands: readonly Command[]): Command {
  const parent: Command = {
    name,
    usage: subcommands.map((s) => s.name.slice(name.length + 1) + (s.usage ? ` ${s.usage}` : '')).join(' | '),
    summary,
    subcommands,
    run(args, io) {
      const [word, ...rest] = args.positional;
      const sub = subcommands.find((s) => s.name === `${name} ${word ?? ''}`);
      if (!sub) throw usageError(parent);
      return sub.run({ ...args, positional: rest }, io);
    },
  };
  return parent;
}
