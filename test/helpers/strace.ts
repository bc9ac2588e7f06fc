// System calls of the built CLI as strace sees them (strace -f -y), for tests that check
// the order of writes, syncs and renames from the kernel's side.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { expect } from 'vitest';
import { BIN, childEnv } from './cli';

/** One system call as strace saw it: where it started and where it returned, in log order. */
export interface Call {
  readonly name: string;
  /** The file a descriptor argument names (strace -y), or null. */
  readonly fdPath: string | null;
  /** A rename's source and target. */
  readonly from: string | null;
  readonly to: string | null;
  readonly start: number;
  end: number;
  result: string;
}

export async function traced(
  args: readonly string[],
  env: Record<string, string>,
  log: string,
  trace: string,
): Promise<Call[]> {
  const child = spawn(
    'strace',
    ['-f', '-qq', '-y', '-e', `trace=${trace}`, '-e', 'signal=none', '-o', log, process.execPath, BIN, ...args],
    {
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, output).toBe(0);
  return parseTrace(await fs.readFile(log, 'utf8'));
}

/** Parses `strace -f -y` output, pairing each `<unfinished ...>` with its `<... resumed>`. */
export function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const open = new Map<string, Call>(); // pid -> its unfinished call
  const lines = text.split('\n');
  lines.forEach((line, at) => {
    const resumed = /^(\d+)\s+<\.\.\. (\w+) resumed>.*= (-?\w+)/.exec(line);
    if (resumed) {
      const call = open.get(resumed[1]!);
      if (call && call.name === resumed[2]) {
        call.end = at;
        call.result = resumed[3]!;
        open.delete(resumed[1]!);
      }
      return;
    }
    const started = /^(\d+)\s+(\w+)\((.*)$/.exec(line);
    if (!started) return;
    const [, pid, name, rest] = started as unknown as [string, string, string, string];
    const fdPath = /^-?\d+<([^>]*)>/.exec(rest)?.[1] ?? null;
    const quoted = [...rest.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
    const isRename = name.startsWith('rename');
    const call: Call = {
      name,
      fdPath,
      from: isRename ? (quoted[quoted.length - 2] ?? null) : null,
      to: isRename ? (quoted[quoted.length - 1] ?? null) : null,
      start: at,
      end: at,
      result: '',
    };
    calls.push(call);
    if (rest.endsWith('<unfinished ...>')) open.set(pid, call);
    else call.result = /= (-?\w+)/.exec(rest.slice(rest.lastIndexOf(')')))?.[1] ?? '';
  });
  return calls;
}
