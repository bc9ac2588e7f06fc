// The vault's health at a glance, from what status() and listFiles() report.
import type { FileEntry, StatusReport } from '../../shared/api';
import { plural } from './format';

export type VaultHealth = 'healthy' | 'degraded' | 'at-risk';

export interface HealthSummary {
  readonly level: VaultHealth;
  readonly title: string;
  readonly detail: string;
}

export function vaultHealth(status: StatusReport, files: readonly FileEntry[] | null): HealthSummary {
  const total = status.locations.length;
  const offline = status.locations.filter((l) => !l.reachable);
  const reachable = total - offline.length;
  const lost = files?.filter((f) => f.health === 'lost') ?? [];
  const onEdge = files?.filter((f) => f.health !== 'healthy' && f.survives <= 0) ?? [];
  const degraded = files?.filter((f) => f.health === 'degraded') ?? [];
  const { threshold } = status.vault;

  const outOfReach = files?.filter((f) => f.health === 'unreachable') ?? [];
  const signIn = status.locations.filter((l) => l.signIn !== null).map((l) => l.name);
  if (lost.length > 0) {
    return {
      level: 'at-risk',
      title: 'At risk',
      detail: `${plural(lost.length, 'file')} cannot be read: too few of ${lost.length === 1 ? 'its' : 'their'} shards are left whole. Run Repair once every location is back.`,
    };
  }
  if (signIn.length > 0) {
    const names = signIn.join(', ');
    return {
      level: outOfReach.length > 0 ? 'at-risk' : 'degraded',
      title: 'Sign in needed',
      detail:
        `Sign in to ${names} to use ${signIn.length === 1 ? 'it' : 'them'} on this device (Locations).` +
        (outOfReach.length > 0 ? ` Until then ${plural(outOfReach.length, 'file')} cannot be read here.` : ''),
    };
  }
  if (outOfReach.length > 0) {
    return {
      level: 'at-risk',
      title: 'At risk',
      detail: `${plural(outOfReach.length, 'file')} cannot be read with the locations reachable now. Bring the offline locations back.`,
    };
  }
  if (reachable < threshold) {
    return {
      level: 'at-risk',
      title: 'At risk',
      detail: `Only ${reachable} of ${total} locations are reachable; unlocking needs ${threshold}.`,
    };
  }
  if (offline.length > 0 || degraded.length > 0 || status.damaged > 0) {
    const parts: string[] = [];
    if (offline.length > 0) {
      parts.push(`${offline.map((l) => l.name).join(', ')} ${offline.length === 1 ? 'is' : 'are'} offline`);
    }
    const waiting = status.locations.reduce((n, l) => n + l.staged, 0);
    if (waiting > 0) {
      parts.push(
        `${plural(waiting, 'shard copy', 'shard copies')} stored meanwhile ${waiting === 1 ? 'waits' : 'wait'} to move to ${status.locations
          .filter((l) => l.staged > 0)
          .map((l) => l.name)
          .join(', ')}`,
      );
    }
    if (status.damaged > 0) {
      parts.push(
        `${plural(status.damaged, 'shard copy', 'shard copies')} found damaged by a deep check or an export ${status.damaged === 1 ? 'needs' : 'need'} Repair`,
      );
    }
    if (degraded.length > 0) {
      parts.push(
        `${plural(degraded.length, 'file')} ${degraded.length === 1 ? 'has' : 'have'} shards offline, missing or damaged`,
      );
    }
    const edge =
      onEdge.length > 0
        ? ` ${plural(onEdge.length, 'file')} would become unreadable if one more location went away.`
        : '';
    return {
      level: 'degraded',
      title: 'Degraded',
      detail: `Everything can still be read, but ${parts.join(' and ')}.${edge}`,
    };
  }
  return {
    level: 'healthy',
    title: 'Healthy',
    detail: `All ${plural(total, 'location')} are reachable and every file has all its shards.`,
  };
}
