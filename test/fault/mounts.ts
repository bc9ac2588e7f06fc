/**
 * Real mounts for locations that root can't fake with chmod: a tiny tmpfs (a full disk) and
 * a read-only bind mount. Every mount made here is remembered and undone by unmountAll.
 */
import { spawnSync } from 'node:child_process';

const mounted: string[] = [];

function run(args: readonly string[]): { ok: boolean; error: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.error) return { ok: false, error: r.error.message };
  return { ok: r.status === 0, error: `${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}` };
}

/** Mounts a tmpfs of `size` (e.g. '1m') on `dir`; returns why not when it can't. */
export function mountTmpfs(dir: string, size: string): string | null {
  const r = run(['mount', '-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  if (!r.ok) return r.error;
  mounted.push(dir);
  return null;
}

/** Makes `dir` read-only in place (a bind mount of itself, remounted ro); returns why not when it can't. */
export function bindReadOnly(dir: string): string | null {
  const bind = run(['mount', '--bind', dir, dir]);
  if (!bind.ok) return bind.error;
  mounted.push(dir);
  const ro = run(['mount', '-o', 'remount,ro,bind', dir]);
  if (!ro.ok) {
    unmount(dir);
    return ro.error;
  }
  return null;
}

export function unmount(dir: string): void {
  const at = mounted.lastIndexOf(dir);
  if (at < 0) return;
  if (!run(['umount', dir]).ok) run(['umount', '-l', dir]);
  mounted.splice(at, 1);
}

export function unmountAll(): void {
  for (const dir of [...mounted].reverse()) unmount(dir);
}
