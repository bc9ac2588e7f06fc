/**
 * Runs a CLI command that waits for a guardian's approval while another device, the guardian,
 * approves the new request it publishes (found in that device's `requests` by `what`).
 */
import { expect } from 'vitest';
import { parseJson, type CliResult } from './cli';

export async function approvedBy<D>(
  cli: (args: string[], as: D) => Promise<CliResult>,
  guardian: D,
  args: string[],
  what: RegExp,
  as: D,
): Promise<CliResult> {
  const pending = async (): Promise<{ id: string; file: string }[]> =>
    parseJson<{ id: string; file: string }[]>(await cli(['requests', '--json'], guardian)).filter((r) =>
      what.test(r.file),
    );
  const before = new Set((await pending()).map((r) => r.id));
  const work = cli(args, as);
  let id: string | undefined;
  for (let tries = 0; tries < 60 && id === undefined; tries++) {
    id = (await pending()).find((r) => !before.has(r.id))?.id;
    if (id === undefined) await new Promise((resolve) => setTimeout(resolve, 300));
  }
  expect(id, 'a pending request appeared').toBeDefined();
  const approve = await cli(['approve', id!], guardian);
  expect(approve.code, approve.stderr).toBe(0);
  return work;
}
