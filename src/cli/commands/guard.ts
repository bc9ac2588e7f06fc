/**
 * `shardvault guard setup --threshold G`: the vault's node locations become the guard of
 * guarded files (docs/GUARD.md): a key generation in which no node and no device ever holds
 * the whole key; afterwards `put FILE --guarded` stores files that open only with G nodes.
 */
import { plural } from '../../shared/format';
import { fetchManifest } from '../../core/vault/files';
import {
  deviceKeyText,
  guardGuardians,
  guardPolicy,
  guardRemoveDevice,
  guardSetup,
  readDeviceKey,
  type ApprovalWait,
} from '../../core/vault/guard';
import { waitForChangeApprovals } from '../../core/vault/guard-requests';
import { reshareNow, type ReshareResult } from '../../core/vault/guard-reshare';
import { guardStatus } from '../../core/vault/guard-status';
import type { Vault } from '../../core/vault/vault';
import { integer, type Parsed } from '../args';
import { expectArguments, usageError, type Run } from '../command';
import { print, withVault, type Io } from '../context';
import { storedFiles } from '../../core/vault/packs';

/** --wait S and progress on stderr, for a change that waits for guardian approvals. */
export function approvalWait(args: Parsed, io: Io): ApprovalWait {
  const wait = integer(args, 'wait', 0, 86_400);
  return { ...(wait === undefined ? {} : { wait }), say: (line) => io.err(`shardvault: ${line}`) };
}

/** A policy change's approvals, gathered from the guardians when the policy asks for them. */
const gatherFor =
  (vault: Vault, waiting: ApprovalWait, what: string) => (change: Parameters<Parameters<typeof guardPolicy>[2]>[0]) =>
    waitForChangeApprovals(vault, { kind: 'policy', change }, what, waiting);

export const removeDevice: Run = async (args, io, self) => {
  expectArguments(args, 1, self);
  const device = readDeviceKey(args.positional[0]!);
  const waiting = approvalWait(args, io);
  const what = `guard device remove ${deviceKeyText(device).slice(0, 10)}…`;
  const result = await withVault(io, args, { unlock: true }, (vault) =>
    guardRemoveDevice(vault, device, (removal) =>
      waitForChangeApprovals(vault, { kind: 'remove', removal }, what, waiting),
    ),
  );
  for (const w of result.warnings) io.err(`shardvault: warning: ${w}`);
  print(
    io,
    result,
    () =>
      `Removed device ${deviceKeyText(device)}: ${result.removed.length > 0 ? result.removed.join(', ') : 'no node'} ` +
      'refuse it now' +
      (result.notEnrolled.length > 0 ? ` (${result.notEnrolled.join(', ')} had not enrolled it)` : ''),
  );
  return 0;
};

export const setup: Run = async (args, io, self) => {
  const threshold = integer(args, 'threshold', 2, 64);
  if (threshold === undefined || args.positional.length > 0) throw usageError(self);
  const result = await withVault(io, args, { unlock: true }, (vault) =>
    guardSetup(
      vault,
      threshold,
      (m) => m.guard !== undefined,
      () => Promise.all(storedFiles(vault.head()).map((f) => fetchManifest(vault, f))),
    ),
  );
  for (const w of result.warnings) io.err(`shardvault: warning: ${w}`);
  print(
    io,
    result,
    () =>
      `Guard set up: guarded files open with ${result.threshold} of ${plural(result.nodes.length, 'node')} ` +
      `(${result.nodes.join(', ')}); they survive losing ${plural(result.survives, 'node')}`,
  );
  return 0;
};

export const policy: Run = async (args, io, self) => {
  const approvals = integer(args, 'approvals', 0, 64);
  if (approvals === undefined || args.positional.length > 0) throw usageError(self);
  const waiting = approvalWait(args, io);
  const result = await withVault(io, args, { unlock: true }, (vault) =>
    guardPolicy(vault, approvals, gatherFor(vault, waiting, `guard policy --approvals ${approvals}`)),
  );
  print(io, result, () =>
    result.approvals === 0
      ? 'Guarded files open for any enrolled device'
      : `Guarded files open with ${plural(result.approvals, 'approval')} of the ${plural(result.guardians, 'guardian')} ` +
        `(shardvault requests, approve ID, deny ID)`,
  );
  return 0;
};

const reshareWords = (r: ReshareResult): string =>
  `Guard re-shared: guarded files open with ${r.threshold} of ${plural(r.nodes.length, 'node')} ` +
  `(${r.nodes.join(', ')}); they survive losing ${plural(r.survives, 'node')}` +
  (r.joined.length > 0 ? `; joined: ${r.joined.join(', ')}` : '') +
  (r.left.length > 0 ? `; left: ${r.left.join(', ')}` : '');

export const reshare: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const waiting = approvalWait(args, io);
  const result = await withVault(io, args, { unlock: true }, (vault) => reshareNow(vault, waiting));
  for (const w of result?.warnings ?? []) io.err(`shardvault: warning: ${w}`);
  print(io, result ?? { unchanged: true }, () =>
    result === null ? 'The guard already holds its key on every node location' : reshareWords(result),
  );
  return 0;
};

export const status: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const result = await withVault(io, args, { unlock: true }, (vault) => guardStatus(vault));
  print(io, result ?? { guard: null }, () =>
    result === null
      ? 'This vault has no guard (shardvault guard setup --threshold G)'
      : [
          `Guard: G = ${result.threshold}, ${plural(result.approvals, 'approval')} of ` +
            `${plural(result.guardians, 'guardian')} per opening`,
          ...result.nodes.map(
            (n) =>
              `  ${n.name}  node ${n.index}  ${n.reachable ? 'answers' : 'does not answer'}` +
              (n.reachable || n.problem === null ? '' : ` (${n.problem})`),
          ),
          ...result.words.map((w) => (result.canOpen ? w : `WARNING: ${w}`)),
          result.device === null
            ? 'This device is enrolled with no node of the vault'
            : `This device: ${result.device}${result.guardian ? ' (a guardian)' : ''}`,
          ...(result.devices.length > 0 ? ['Devices the nodes enrolled (guard device remove KEY):'] : []),
          ...result.devices.map(
            (d) =>
              `  ${d.key}  ${d.nodes.join(', ')}` +
              (d.guardian ? '  guardian' : '') +
              (d.key === result.device ? '  this device' : ''),
          ),
        ].join('\n'),
  );
  return 0;
};

const guardian =
  (op: 'add' | 'remove'): Run =>
  async (args, io, self) => {
    expectArguments(args, 1, self);
    const device = readDeviceKey(args.positional[0]!);
    const waiting = approvalWait(args, io);
    const result = await withVault(io, args, { unlock: true }, (vault) =>
      guardGuardians(
        vault,
        op,
        device,
        gatherFor(vault, waiting, `guard guardian ${op} ${deviceKeyText(device).slice(0, 10)}…`),
      ),
    );
    print(
      io,
      result,
      () =>
        `${op === 'add' ? 'Added' : 'Removed'} guardian ${deviceKeyText(device)}: ` +
        `${plural(result.guardians, 'guardian')}, ${plural(result.approvals, 'approval')} per opening`,
    );
    return 0;
  };

export const guardianAdd = guardian('add');
export const guardianRemove = guardian('remove');
