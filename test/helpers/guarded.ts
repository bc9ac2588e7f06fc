/**
 * A guarded vault through the CLI, as the guard tests start one: three folders a, b, c (one
 * shard of three opens a file, so two nodes stopped never leave it without one), the nodes
 * added as n1, n2, …, `guard setup --threshold 2`, and one guarded file g.bin put.
 */
import * as nodePath from 'node:path';
import { expect } from 'vitest';
import { writeRandomFile, type CliResult, type TempRoot } from './cli';

export interface GuardedVault {
  readonly folders: readonly string[];
  /** The guarded file put, and its SHA-256. */
  readonly file: { readonly path: string; readonly sha: string };
}

export async function guardedVault(
  root: TempRoot,
  cli: (args: string[]) => Promise<CliResult>,
  nodeSpecs: readonly string[],
  size: number,
): Promise<GuardedVault> {
  const folders = [await root.dir('folder-a'), await root.dir('folder-b'), await root.dir('folder-c')];
  const init = await cli([
    'init',
    ...folders.flatMap((f, i) => ['--location', `${f}#${'abc'[i]}`]),
    '--data',
    '1',
    '--total',
    '3',
    '--threshold',
    '2',
    '--insecure-kdf-cost',
    '10',
  ]);
  expect(init.code, init.stderr).toBe(0);
  for (const [i, spec] of nodeSpecs.entries()) {
    const add = await cli(['location', 'add', `${spec}#n${i + 1}`]);
    expect(add.code, add.stderr).toBe(0);
  }
  const setup = await cli(['guard', 'setup', '--threshold', '2']);
  expect(setup.code, setup.stderr).toBe(0);
  const path = nodePath.join(await root.dir('in'), 'g.bin');
  const sha = await writeRandomFile(path, size);
  const put = await cli(['put', path, '--guarded']);
  expect(put.code, put.stderr).toBe(0);
  return { folders, file: { path, sha } };
}
