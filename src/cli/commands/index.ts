/**
 * Every `shardvault` command, in the order help lists them.
 *
 * To add a command: write src/cli/commands/<name>.ts exporting a `Command` (../command.ts):
 * its `name`, its `usage` (arguments after the name), a one-line `summary` and `run(args, io)`
 * resolving to the exit code; then add it to `commands` below. That is all: main.ts
 * dispatches by name, help (../help.ts) is made from these fields, and `usageError(command)`
 * or `expectArguments(args, count, command)` quote its usage. Shared pieces (opening the
 * vault, printing text or --json, the terminal's questions) are in ../context.ts. A new
 * option goes into ../args.ts (VALUE_OPTIONS or FLAG_OPTIONS). Subcommands (`location add`)
 * are Commands named with their parent's word, listed in the parent's `subcommands`
 * (commands/location/). Then update README.md's "CLI" block (test/cli-help.test.ts checks it
 * against the help).
 */
import type { Command } from '../command';
import { demo } from './demo';
import { drill } from './drill';
import { get } from './get';
import { guard } from './guard';
import { init } from './init';
import { kit } from './kit';
import { location } from './location';
import { log } from './log';
import { mv } from './mv';
import { node } from './node';
import { ls } from './ls';
import { mount } from './mount';
import { open } from './open';
import { passphrase } from './passphrase';
import { placement } from './placement';
import { policy } from './policy';
import { put } from './put';
import { repair } from './repair';
import { approve, deny, requests } from './requests';
import { rm } from './rm';
import { serve } from './serve';
import { settings } from './settings';
import { status } from './status';
import { verify } from './verify';

export const commands: readonly Command[] = [
  init,
  open,
  put,
  settings,
  get,
  ls,
  rm,
  mv,
  status,
  placement,
  verify,
  repair,
  log,
  location,
  guard,
  requests,
  approve,
  deny,
  drill,
  policy,
  kit,
  passphrase,
  serve,
  mount,
  node,
  demo,
];
