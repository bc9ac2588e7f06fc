/**
 * `shardvault`: the headless front end over the engine. The command contract (README,
 * "CLI") is what scripts and tests rely on: arguments, --json shapes, exit codes.
 *
 * This file only dispatches: each command is a file in commands/ (commands/index.ts says how
 * to add one), help is made from them (help.ts), and errors become exit codes here.
 */
import { redactCredentials } from '../shared/redact';
import { removeAllSync } from '../core/cleanup';
import { configFromEnvironment, configureEngine } from '../core/config';
import { exitCodeFor, ShardvaultError, UsageError } from '../core/errors';
import { parseArgs } from './args';
import { commands } from './commands';
import type { Io } from './context';
import { helpText } from './help';
import { signals } from './signals';

export async function main(argv: readonly string[]): Promise<number> {
  const io: Io = {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    // Every line to stderr passes the one redaction: an error or warning may quote a SPEC.
    err: (t) => process.stderr.write(redactCredentials(t.endsWith('\n') ? t : `${t}\n`)),
    json: argv.includes('--json'),
  };
  // The engine reads no environment and writes to no stream itself: this front end says.
  configureEngine({ ...configFromEnvironment(process.env), warn: (m) => io.err(`shardvault: warning: ${m}`) });
  try {
    const args = parseArgs(argv);
    if (args.flags.has('help') || args.command === 'help' || args.command === '') {
      io.out(helpText());
      return args.command === '' && !args.flags.has('help') ? 2 : 0;
    }
    const command = commands.find((c) => c.name === args.command);
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(args.command)} (see shardvault --help)`);
    return await command.run(args, io);
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: Io): number {
  const known = err instanceof ShardvaultError;
  const code = known ? err.code : 'io';
  const message = redactCredentials(err instanceof Error ? err.message : String(err));
  if (io.json) io.out(JSON.stringify({ error: { code, message } }));
  else io.err(`shardvault: ${message}`);
  if (!known && process.env['SHARDVAULT_DEBUG']) io.err(String((err as Error).stack));
  return exitCodeFor(code);
}

// Ctrl-C or a kill: remove a get's temporary output (it holds plaintext) before exiting.
// The profile lock is left to the next process, which takes over a dead process's lock.
// Registered first, so it runs before a server's own handler.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    // A command that runs until stopped (mount) answers SIGINT and SIGTERM itself.
    if (signals.takenOver && signal !== 'SIGHUP') return;
    removeAllSync();
    // A server (`serve`, `node serve`) that listens for it stops by itself and exits 0.
    if (process.listenerCount(signal) > 1) return;
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

process.exitCode = await main(process.argv.slice(2));
// Every command closes what it opened, so the process ends by itself. Should a connection be
// left open all the same (a bug), the command still exits instead of hanging after its answer;
// SHARDVAULT_DEBUG names what was left.
setTimeout(() => {
  if (process.env['SHARDVAULT_DEBUG'])
    process.stderr.write(`shardvault: debug: left open at exit: ${process.getActiveResourcesInfo().join(', ')}\n`);
  process.exit();
}, 2000).unref();
