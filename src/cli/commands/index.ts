/**
 * Every `shardvault` command, in the order help lists them: what help and usage errors need
 * (name, usage, summary) is here, and only here; a command's code is imported when it runs,
 * so that `help` loads no command's code and `get` only get's (docs/PERFORMANCE.md).
 *
 * To add a command: write src/cli/commands/<name>.ts exporting its code as a `Run`
 * (../command.ts): `(args, io, self)` resolving to the exit code, `self` being the command
 * (`usageError(self)`, `expectArguments(args, count, self)` quote its usage). Then add a
 * `lazyCommand({ name, usage, summary }, () => import('./<name>').then((m) => m.<name>))` to
 * `commands` below: its `name`, its `usage` (arguments after the name), a one-line `summary`.
 * That is all: main.ts dispatches by name and help (../help.ts) is made from these fields.
 * Import nothing heavy here: this file is loaded by every command. Shared pieces (opening
 * the vault, printing text or --json, the terminal's questions) are in ../context.ts. A new
 * option goes into ../args.ts (VALUE_OPTIONS or FLAG_OPTIONS). Subcommands (`location add`)
 * are Commands named with their parent's word, listed in a `parentCommand` below (their code
 * in commands/location/, guard.ts, node.ts). Then update README.md's "CLI" block
 * (test/cli-help.test.ts checks it against the help).
 */
import { LOCATION_PROBE_BYTES } from '../../shared/api';
import { formatBinary } from '../../shared/format';
import { MAX_CONNECTIONS } from '../../core/storage/shardnode/protocol';
import { lazyCommand, parentCommand, type Command } from '../command';

export const commands: readonly Command[] = [
  lazyCommand(
    {
      name: 'init',
      usage:
        '--location SPEC ... (--data K --total N --threshold T [--replicas R] | --survive X --secret-against Y) ' +
        '[--domain NAME=DOMAIN ...] [--segment-size BYTES] [--kdf-cost LOGN] [--weak-passphrase] [--create]',
      summary:
        'prints k, n, t, the recovery code (once) and the key fingerprint; makes a missing last folder: ' +
        'on a server at once, on this machine after asking (--create: yes, for scripts); --domain puts ' +
        'location NAME in failure domain DOMAIN (X and Y then count domains)',
    },
    () => import('./init').then((m) => m.init),
  ),
  lazyCommand(
    {
      name: 'open',
      usage: '--location SPEC ... [--recovery [--weak-passphrase]] [--expect-fingerprint FP]',
      summary:
        "attach this profile to an existing vault (a new machine); --recovery sets a new passphrase; FP: the recovery kit's " +
        'vault key fingerprint, checked before anything is trusted',
    },
    () => import('./open').then((m) => m.open),
  ),
  lazyCommand(
    {
      name: 'put',
      usage: 'FILE|DIR [--name NAME] [--replace] [--survive X] [--happy N] [--guarded]',
      summary:
        'an existing NAME is refused without --replace; --survive: this file survives losing X locations ' +
        '(more parity); --happy: only if N locations can take shards (default k); a DIR is stored whole ' +
        'under NAME/ (default its own name) in one commit, empty folders kept, symbolic links skipped; ' +
        "--guarded (a FILE): opening it also needs G of the vault's nodes (after guard setup)",
    },
    () => import('./put').then((m) => m.put),
  ),
  lazyCommand(
    {
      name: 'settings',
      usage: '[--happy N|default]',
      summary: "this device's settings (the default for put --happy)",
    },
    () => import('./settings').then((m) => m.settings),
  ),
  lazyCommand(
    {
      name: 'get',
      usage: 'NAME [--output PATH] [--force] [--wait S]',
      summary:
        'default ./NAME; PATH may be a folder (PATH/NAME); an existing file is refused without --force; ' +
        'NAME/ (a folder) is restored as PATH/<its last part> (PATH default ., made if missing); a guarded file ' +
        'whose policy asks for approvals waits up to S seconds for them (default 300), then exits 7',
    },
    () => import('./get').then((m) => m.get),
  ),
  lazyCommand(
    {
      name: 'ls',
      usage: '[PREFIX] [--tree]',
      summary:
        "the vault's files (in the folder PREFIX: at any depth): size, health, how many more losses each " +
        'survives; --tree draws the folders',
    },
    () => import('./ls').then((m) => m.ls),
  ),
  lazyCommand(
    {
      name: 'rm',
      usage: '[-r] NAME',
      summary:
        'remove the file NAME from the vault (its shards on every location); -r: the folder NAME/ and ' +
        'everything in it, in one commit',
    },
    () => import('./rm').then((m) => m.rm),
  ),
  lazyCommand(
    {
      name: 'mv',
      usage: 'OLD NEW',
      summary:
        'rename or move a file or folder (into an existing folder it keeps its name), in one commit; ' +
        'no shard is written again',
    },
    () => import('./mv').then((m) => m.mv),
  ),
  lazyCommand(
    {
      name: 'status',
      usage: '',
      summary: 'each location: reachable, latency, free space, shards (no passphrase needed)',
    },
    () => import('./status').then((m) => m.status),
  ),
  lazyCommand(
    {
      name: 'placement',
      usage: 'NAME',
      summary: 'which locations hold each shard of NAME',
    },
    () => import('./placement').then((m) => m.placement),
  ),
  lazyCommand(
    {
      name: 'verify',
      usage: '[--deep]',
      summary: 'check every copy of every shard (--deep: every byte); exit 6 on a problem',
    },
    () => import('./verify').then((m) => m.verify),
  ),
  lazyCommand(
    {
      name: 'repair',
      usage: '[--deep]',
      summary:
        'rebuild damaged or missing shard copies, move staged copies home, collect garbage; ' +
        'exit 6 if something is left to do',
    },
    () => import('./repair').then((m) => m.repair),
  ),
  lazyCommand(
    {
      name: 'log',
      usage: '',
      summary: 'every access request: who, what, the outcome, the locations used',
    },
    () => import('./log').then((m) => m.log),
  ),
  parentCommand('location', "the vault's locations", [
    lazyCommand(
      {
        name: 'location add',
        usage: 'SPEC [--domain DOMAIN] [--wait S]',
        summary:
          "a new location; the vault key's shares are dealt again over every location (no file is re-encrypted); " +
          '--domain: it fails together with the others in DOMAIN (same building, same provider); a node added to a ' +
          "guarded vault joins the guard (its key re-shared; --wait S for the policy's approvals)",
      },
      () => import('./location/add').then((m) => m.add),
    ),
    lazyCommand(
      {
        name: 'location list',
        usage: '',
        summary: 'the locations, and which of them need sign-in on this device',
      },
      () => import('./location/list').then((m) => m.list),
    ),
    lazyCommand(
      {
        name: 'location edit',
        usage: "NAME [SPEC] [--name NEW] [--domain DOMAIN|''] [--wait S]",
        summary:
          'rename a location, give it a new address or new credentials, or a failure domain ' +
          "('' takes it out of its domain; the key shares are dealt again over the domains and files a domain " +
          'now holds too much of are moved); enrolling at a node of a guard whose policy asks for approvals ' +
          'waits for the guardians (--wait S, at most 600; exit 7 without)',
      },
      () => import('./location/edit').then((m) => m.edit),
    ),
    lazyCommand(
      {
        name: 'location login',
        usage: 'NAME',
        summary:
          'the password (or key passphrase) of a location this device learned from the vault ($SHARDVAULT_LOCATION_PASSWORD)',
      },
      () => import('./location/edit').then((m) => m.login),
    ),
    lazyCommand(
      {
        name: 'location remove',
        usage: 'NAME [--untrusted] [--wait S]',
        summary:
          'move its shards to the others and drop it; --untrusted also changes the vault key; a node of the guard ' +
          "leaves it first (its key re-shared among the others; --wait S for the policy's approvals)",
      },
      () => import('./location/remove').then((m) => m.remove),
    ),
    lazyCommand(
      {
        name: 'location test',
        usage: 'NAME',
        summary: `latency; ${formatBinary(LOCATION_PROBE_BYTES)} written, read back, deleted; exit 4 if unreachable`,
      },
      () => import('./location/test').then((m) => m.test),
    ),
  ]),
  parentCommand('guard', "guarded files: the vault's nodes hold a threshold key (docs/GUARD.md)", [
    lazyCommand(
      {
        name: 'guard setup',
        usage: '--threshold G',
        summary:
          'every node location holds a share of a new guard key (G >= 2, every node reachable); guarded files ' +
          'then open only with G of them; refused while guarded files exist',
      },
      () => import('./guard').then((m) => m.setup),
    ),
    lazyCommand(
      {
        name: 'guard policy',
        usage: '--approvals g [--wait S]',
        summary:
          "every opening of a guarded file needs g guardians' approvals (0: any enrolled device); the " +
          "requester's own never counts; changing it needs the current policy's approvals (waits --wait S)",
      },
      () => import('./guard').then((m) => m.policy),
    ),
    lazyCommand(
      {
        name: 'guard reshare',
        usage: '[--wait S]',
        summary:
          "re-shares the guard key among the vault's node locations as they are now (P kept: guarded files are " +
          'not rewritten), or finishes a re-sharing cut short; location add and remove of a node do it themselves',
      },
      () => import('./guard').then((m) => m.reshare),
    ),
    lazyCommand(
      {
        name: 'guard status',
        usage: '',
        summary:
          "the guard's nodes (reachable or not), G, the policy, this device's key, the device keys the nodes " +
          'enrolled; says plainly when guarded files cannot be opened',
      },
      () => import('./guard').then((m) => m.status),
    ),
    parentCommand('guard guardian', 'the devices whose approvals the policy counts', [
      lazyCommand(
        {
          name: 'guard guardian add',
          usage: 'DEVICE [--wait S]',
          summary: "DEVICE (a device's key, as guard status shows it) becomes a guardian; needs the policy's approvals",
        },
        () => import('./guard').then((m) => m.guardianAdd),
      ),
      lazyCommand(
        {
          name: 'guard guardian remove',
          usage: 'DEVICE [--wait S]',
          summary: "DEVICE is a guardian no more; needs the policy's approvals (the last guardian stays)",
        },
        () => import('./guard').then((m) => m.guardianRemove),
      ),
    ]),
    parentCommand('guard device', "the devices enrolled with the guard's nodes", [
      lazyCommand(
        {
          name: 'guard device remove',
          usage: 'DEVICE [--wait S]',
          summary:
            "every node of the guard drops DEVICE's key (a lost laptop; the key as guard status shows it) and refuses " +
            "it from then on; another device's removal needs the policy's approvals, this device's own none; a " +
            'guardian leaves the guardians first',
        },
        () => import('./guard').then((m) => m.removeDevice),
      ),
    ]),
  ]),
  lazyCommand(
    {
      name: 'requests',
      usage: '',
      summary: 'pending openings of guarded files that wait for guardian approvals (last 15 minutes)',
    },
    () => import('./requests').then((m) => m.requests),
  ),
  lazyCommand(
    {
      name: 'approve',
      usage: 'ID',
      summary: 'as a guardian, approve the pending request ID (for 14 minutes)',
    },
    () => import('./requests').then((m) => m.approve),
  ),
  lazyCommand(
    {
      name: 'deny',
      usage: 'ID',
      summary: 'as a guardian, deny the pending request ID (the requester stops waiting, exit 7)',
    },
    () => import('./requests').then((m) => m.deny),
  ),
  lazyCommand(
    {
      name: 'drill',
      usage: '[--lose LOC,LOC] [--lose-domain D] [--open]',
      summary:
        'would every file read and the vault unlock without LOC,LOC and the unreachable? changes nothing; ' +
        'exit 6 if something would be lost; --lose-domain: every location in failure domain D; ' +
        '--open also opens afresh from the rest, reads up to 10 files',
    },
    () => import('./drill').then((m) => m.drill),
  ),
  lazyCommand(
    {
      name: 'policy',
      usage:
        'set (--survive X --secret-against Y | --data K --total N --threshold T) [--background] | status | resume [--background]',
      summary:
        "change the policy over the vault's locations (n = their number: add locations first) and re-code every " +
        'file, with progress; --background: the job goes on detached, resumable on any device; status: how far it is',
    },
    () => import('./policy').then((m) => m.policy),
  ),
  lazyCommand(
    {
      name: 'kit',
      usage: '[--with-recovery-code]',
      summary:
        'print the one-page recovery kit (no passphrase, password or key on it; the recovery code only with ' +
        '--with-recovery-code, which asks for it ($SHARDVAULT_RECOVERY_CODE) and checks it first)',
    },
    () => import('./kit').then((m) => m.kit),
  ),
  lazyCommand(
    {
      name: 'passphrase',
      usage: 'change [--new-recovery-code] [--weak-passphrase]',
      summary:
        'seal the key shares under a new passphrase ($SHARDVAULT_NEW_PASSPHRASE, else typed twice); ' +
        '--new-recovery-code also retires the recovery code',
    },
    () => import('./passphrase').then((m) => m.passphrase),
  ),
  lazyCommand(
    {
      name: 'serve',
      usage: '[--port P]',
      summary: 'the desktop UI in a browser, on this machine only',
    },
    () => import('./serve').then((m) => m.serve),
  ),
  lazyCommand(
    {
      name: 'mount',
      usage: '[--port P]',
      summary:
        'the vault as a WebDAV drive on this machine only: prints http://shardvault:PASSWORD@127.0.0.1:PORT/ first, then serves until Ctrl+C',
    },
    () => import('./mount').then((m) => m.mount),
  ),
  parentCommand('node', 'this machine as a Shardvault node (docs/NODE.md)', [
    lazyCommand(
      {
        name: 'node serve',
        usage: '--dir DIR --listen HOST:PORT [--public-host NAME] [--max-connections N]',
        summary:
          'this machine as a Shardvault node for one vault: prints the SPEC to add it with first ' +
          `(docs/NODE.md); runs until Ctrl+C; holds at most N connections (default ${MAX_CONNECTIONS}), ` +
          'a quarter of them from one address',
      },
      () => import('./node').then((m) => m.serve),
    ),
    lazyCommand(
      {
        name: 'node new-code',
        usage: '--dir DIR',
        summary:
          "a new single-use code for the node in DIR (running or not): prints the SPEC another device's " +
          '`location add` or `location edit` enrols with',
      },
      () => import('./node').then((m) => m.newCode),
    ),
  ]),
  lazyCommand(
    {
      name: 'demo',
      usage: '[--size BYTES] [--keep]',
      summary: 'a demo vault over temporary folders',
    },
    () => import('./demo').then((m) => m.demo),
  ),
];

/** The command (or subcommand: `location login`) named `name`. */
export function commandNamed(name: string): Command {
  const all = (list: readonly Command[]): Command[] => list.flatMap((c) => [c, ...all(c.subcommands ?? [])]);
  const found = all(commands).find((c) => c.name === name);
  if (!found) throw new Error(`no command ${name}`);
  return found;
}
