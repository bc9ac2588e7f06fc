/**
 * The recovery drill: would every file still read, and the vault still unlock, if some
 * locations were gone? Answered from where every shard copy (staged ones too) and key share
 * really is, with the arithmetic `ls` and `repair` use (healthOf, holdsKeyShare), never a
 * second copy of it. Locations unreachable now count as gone too.
 *
 * With a passphrase it also does what the recovery kit promises a new machine: a fresh
 * profile in a temporary folder opens the vault from the remaining locations alone (reached
 * with this profile's connections) and reads files back, each checked against its manifest's
 * hash. It reads through MemoryOverlayNode, so the head and log entries a real open writes
 * stay in memory; the temporary folder is removed after.
 *
 * The drill writes nothing but its access-log entry ("drill": the locations supposed gone
 * and the verdict, in drillWords).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { DrillOpen, DrillReport, Health } from '../../shared/api';
import type { FileRef } from '../format/head';
import { drillWords } from '../../shared/words';
import { registerTemporary, unregisterTemporary } from '../cleanup';
import { UsageError } from '../errors';
import { PATHS } from '../format/records';
import { MemoryOverlayNode } from '../storage/memory-overlay';
import { copyStates, fetchManifest, getFile, healthOf, holdings } from './files';
import { UnavailableNode } from './locations';
import { MAX_LOG_DETAIL } from './audit';
import { holdsKeyShare } from './repair';
import { shareGroups } from './domains';
import { packOf, userFiles } from './packs';
import { Vault, type Location } from './vault';

/** Files a drill's open reads back at most (as the recovery kit promises). */
export const DRILL_READS = 10;
/** File names the log entry's verdict names at most (the entry's detail is bounded). */
const LOGGED_NAMES = 20;

export interface DrillOptions {
  /** Also open the vault from a fresh profile with this passphrase and read files back. */
  readonly passphrase?: string;
  /** Where the open's temporary folder goes (the caller's temp folder). */
  readonly tempRoot?: string;
}

export async function drill(vault: Vault, lose: readonly string[], options: DrillOptions = {}): Promise<DrillReport> {
  const head = vault.head();
  const unknown = lose.filter((name) => !vault.locations.some((l) => l.name === name));
  if (unknown.length > 0) {
    throw new UsageError(
      `no location named ${unknown.join(', ')} in this vault (its locations: ${vault.locations.map((l) => l.name).join(', ')})`,
    );
  }
  const health = await vault.health();
  const unreachable = vault.locations.filter((l) => !health.get(l.id)?.reachable);
  const lost = vault.locations.filter((l) => lose.includes(l.name) || unreachable.includes(l));
  const remaining = vault.locations.filter((l) => !lost.includes(l));
  const gone = new Set(lost.map((l) => l.id));

  let report: DrillReport | null = null;
  try {
    const known = await holdings(vault);
    const manifests = await vault.everywhere(
      async (l) => new Set((await l.node.list(PATHS.manifestsDir)).map((o) => o.path)),
      remaining,
    );
    // A packed file fares as its pack does: each manifest (a file's own, a pack's) looked at once.
    const fates = new Map<string, Promise<{ health: Health; survives: number }>>();
    const fateOf = (own: FileRef): Promise<{ health: Health; survives: number }> => {
      let fate = fates.get(own.id);
      if (fate === undefined) {
        fate = (async () => {
          const kept = manifests.some((r) => r.value?.has(PATHS.manifest(own.id, own.version)));
          if (!kept) return { health: 'lost', survives: -1 };
          try {
            const m = await fetchManifest(vault, own);
            const copies = copyStates(vault, m, known);
            // Gone for good, not merely out of reach: healthOf calls a file whose only copies are
            // out of reach 'unreachable', and the drill asks what would be lost.
            for (const c of copies) if (gone.has(c.locationId)) c.state = 'missing';
            const { health: h, survives } = healthOf(vault, m, copies);
            return { health: h, survives };
          } catch {
            return { health: 'lost', survives: -1 }; // no manifest that opens, as ls says
          }
        })();
        fates.set(own.id, fate);
      }
      return fate;
    };
    const files = await Promise.all(
      userFiles(head).map(async (f): Promise<DrillReport['files'][number]> => {
        let own: FileRef;
        try {
          own = f.pack ? packOf(head, f) : f;
        } catch {
          return { name: f.name, health: 'lost', survives: -1 };
        }
        return { name: f.name, ...(await fateOf(own)) };
      }),
    );
    const holders = await vault.everywhere((l) => holdsKeyShare(vault, l), remaining);
    const heads = await vault.everywhere(async (l) => (await l.node.stat(PATHS.head)) !== null, remaining);
    // Locations of one failure domain hold the same share (domains.ts shareGroups): one counts.
    const groups = shareGroups(head.locations, head.policy.threshold);
    const groupOf = (id: string): string => groups?.[head.locations.findIndex((e) => e.id === id)] ?? id;
    const shares = new Set(holders.filter((h) => h.value === true).map((h) => groupOf(h.location.id))).size;
    const withHead = heads.filter((h) => h.value === true).length;
    const unlock = {
      shares,
      threshold: head.policy.threshold,
      heads: withHead,
      unlocks: shares >= head.policy.threshold && withHead > 0,
    };
    const lostFiles = files.filter((f) => f.health === 'lost').map((f) => f.name);
    const order = [...lostFiles, ...files.filter((f) => f.health !== 'lost').map((f) => f.name)];
    const open =
      options.passphrase === undefined
        ? null
        : await openFresh(vault, remaining, options.passphrase, order.slice(0, DRILL_READS), options.tempRoot);
    report = {
      lost: lost.map((l) => l.name),
      unreachable: unreachable.map((l) => l.name),
      files,
      lostFiles,
      unlock,
      ok:
        lostFiles.length === 0 &&
        unlock.unlocks &&
        (open === null || (open.opened && open.read === open.tried && open.problems.length === 0)),
      open,
    };
    return report;
  } finally {
    // File names may be long: fewer are named until the verdict fits the entry.
    let named = LOGGED_NAMES;
    let detail = `If ${lost.map((l) => l.name).join(', ') || 'nothing'} were gone: the drill did not finish`;
    while (report && (detail = drillWords(report, named)).length > MAX_LOG_DETAIL && named > 0) named--;
    if (detail.length > MAX_LOG_DETAIL) detail = `${detail.slice(0, MAX_LOG_DETAIL - 1)}…`;
    await vault
      .audit({
        action: 'drill',
        file: null,
        detail,
        outcome: report ? 'ok' : 'failed',
        locations: remaining.map((l) => l.name),
      })
      .catch((e: unknown) =>
        vault.options.onWarning?.(`the access request could not be logged: ${(e as Error).message}`),
      );
  }
}

/**
 * Opens the vault as a new machine would, from `remaining` alone, in a fresh profile under a
 * temporary folder, and reads `names` back; every write the open and the reads make stays in
 * memory (MemoryOverlayNode), every other location is unreachable to it.
 */
async function openFresh(
  vault: Vault,
  remaining: readonly Location[],
  passphrase: string,
  names: readonly string[],
  tempRoot: string | undefined,
): Promise<DrillOpen> {
  if (tempRoot === undefined) throw new UsageError('the drill needs a temporary folder to open the vault in');
  const dir = await fs.mkdtemp(nodePath.join(tempRoot, 'shardvault-drill-'));
  // Files read back are plaintext until checked and removed: a kill takes the folder too.
  registerTemporary(dir);
  const problems: string[] = [];
  let fresh: Vault | null = null;
  let read = 0;
  try {
    const profile = nodePath.join(dir, 'profile');
    const output = nodePath.join(dir, 'read');
    await fs.mkdir(profile, { mode: 0o700 });
    await fs.mkdir(output, { mode: 0o700 });
    const specs = vault
      .profileLocations()
      .filter((p) => remaining.some((l) => l.id === p.id))
      .map((p) => `${p.spec}#${p.name}`);
    try {
      fresh = await Vault.attach(profile, specs, { passphrase }, null, {
        onWarning: (m) => vault.options.onWarning?.(`recovery drill, opening afresh: ${m}`),
        ...(vault.keyFingerprint === null ? {} : { expectFingerprint: vault.keyFingerprint }),
        // The node attach makes from a SPEC is replaced by this profile's own connection to
        // that location (its credentials), seen through the overlay; the rest are gone.
        allowInsecureHttp: true,
        wrapNode: (made, given) => {
          void made.close().catch(() => undefined);
          const own = given === null ? undefined : remaining.find((l) => l.name === given);
          return own
            ? new MemoryOverlayNode(own.node)
            : new UnavailableNode(made.kind, made.display, 'supposed gone in the recovery drill');
        },
      });
    } catch (err) {
      return { opened: false, read: 0, tried: names.length, problems: [...problems, (err as Error).message] };
    }
    for (const [i, name] of names.entries()) {
      const file = userFiles(fresh.head()).find((f) => f.name === name);
      try {
        if (!file) throw new Error('the vault opened from the remaining locations has no such file');
        const target = nodePath.join(output, String(i));
        await getFile(fresh, name, target);
        const hash = createHash('sha256');
        for await (const chunk of createReadStream(target)) hash.update(chunk as Buffer);
        await fs.rm(target, { force: true });
        if (hash.digest('hex') !== file.sha256) throw new Error('the bytes read back differ from its manifest');
        read++;
      } catch (err) {
        problems.push(`${name}: ${(err as Error).message}`);
      }
    }
    return { opened: true, read, tried: names.length, problems };
  } finally {
    await fresh?.close();
    await fs.rm(dir, { recursive: true, force: true });
    unregisterTemporary(dir);
  }
}
