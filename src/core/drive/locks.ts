/**
 * WebDAV write locks (RFC 4918 sections 6-7, 9.10-9.11) and the If header (section 10.4),
 * held in this process's memory for the life of the mount: what clients need (Windows and
 * macOS lock a file before writing it) and no more. A lock never outlives LOCK_MAX_SECONDS
 * without a refresh, the table holds at most MAX_LOCKS, and at most MAX_STACKED_LOCKS cover
 * any one resource.
 */
import { randomUUID } from 'node:crypto';

export const LOCK_MAX_SECONDS = 3600;
const MAX_LOCKS = 4096;
/**
 * Locks that may cover one resource at once (shared ones: an exclusive lock stands alone).
 * Every lock covering a resource is listed in its lockdiscovery, and a depth-infinity lock
 * on a folder covers each name below it: without a bound, a few thousand shared locks made a
 * PROPFIND of the folder list each of them once per child (gigabytes).
 */
export const MAX_STACKED_LOCKS = 16;

export interface DriveLock {
  readonly token: string;
  /** The locked path: '' for the root, else a name without a trailing slash. */
  readonly root: string;
  readonly scope: 'exclusive' | 'shared';
  readonly infinite: boolean;
  /** The client's owner element, as XML, given back as it came. */
  readonly owner: string;
  seconds: number;
  expires: number;
}

/** Whether `path` is `root` or lies below it. */
export function within(path: string, root: string): boolean {
  return root === '' || path === root || path.startsWith(`${root}/`);
}

export class LockTable {
  private readonly locks = new Map<string, DriveLock>();

  constructor(private readonly now: () => number = Date.now) {}

  private sweep(): void {
    const t = this.now();
    for (const [token, lock] of this.locks) if (lock.expires <= t) this.locks.delete(token);
  }

  /** The locks that cover `path`: on it, or on a folder above it with depth infinity. */
  covering(path: string): DriveLock[] {
    this.sweep();
    return [...this.locks.values()].filter((l) => l.root === path || (l.infinite && within(path, l.root)));
  }

  /** The locks a change of `path` and everything below it meets (a DELETE or MOVE of a folder). */
  affecting(path: string): DriveLock[] {
    this.sweep();
    return [...this.locks.values()].filter(
      (l) => within(l.root, path) || l.root === path || (l.infinite && within(path, l.root)),
    );
  }

  byToken(token: string): DriveLock | undefined {
    this.sweep();
    return this.locks.get(token);
  }

  /** A new lock, or null when one in the way conflicts (423). */
  take(root: string, scope: DriveLock['scope'], infinite: boolean, owner: string, seconds: number): DriveLock | null {
    const inWay = new Set([...this.covering(root), ...(infinite ? this.affecting(root) : [])]);
    if ([...inWay].some((l) => l.scope === 'exclusive' || scope === 'exclusive')) return null;
    // Every lock that will cover a resource together with this one is in its way now: so no
    // resource is ever covered by more than MAX_STACKED_LOCKS.
    if (inWay.size >= MAX_STACKED_LOCKS || this.locks.size >= MAX_LOCKS) return null;
    const lock: DriveLock = {
      token: `opaquelocktoken:${randomUUID()}`,
      root,
      scope,
      infinite,
      owner,
      seconds,
      expires: this.now() + seconds * 1000,
    };
    this.locks.set(lock.token, lock);
    return lock;
  }

  refresh(lock: DriveLock, seconds: number): void {
    lock.seconds = seconds;
    lock.expires = this.now() + seconds * 1000;
  }

  release(token: string): boolean {
    return this.locks.delete(token);
  }

  /** A moved or deleted resource takes its locks with it (RFC 4918 section 7.7: they go). */
  dropUnder(path: string): void {
    for (const [token, lock] of this.locks) if (within(lock.root, path)) this.locks.delete(token);
  }
}

/** The seconds a Timeout header asks for (RFC 4918 section 10.7), capped. */
export function lockSeconds(header: string | undefined): number {
  for (const part of (header ?? '').split(',')) {
    const t = part.trim();
    if (/^infinite$/i.test(t)) return LOCK_MAX_SECONDS;
    const m = /^Second-(\d{1,10})$/i.exec(t);
    if (m) return Math.max(1, Math.min(LOCK_MAX_SECONDS, Number(m[1])));
  }
  return LOCK_MAX_SECONDS;
}

export interface IfCondition {
  readonly not: boolean;
  readonly token?: string;
  readonly etag?: string;
}
export interface IfList {
  /** The resource the list is tagged with (a URL or path), or null for the request's. */
  readonly resource: string | null;
  readonly conditions: readonly IfCondition[];
}

/** Parses an If header; null when it is malformed (400). */
export function parseIf(header: string): IfList[] | null {
  const lists: IfList[] = [];
  let at = 0;
  let resource: string | null = null;
  const skip = (): void => {
    while (at < header.length && /\s/.test(header[at]!)) at++;
  };
  for (;;) {
    skip();
    if (at >= header.length) break;
    if (header[at] === '<') {
      const end = header.indexOf('>', at);
      if (end < 0) return null;
      resource = header.slice(at + 1, end);
      at = end + 1;
      continue;
    }
    if (header[at] !== '(') return null;
    at++;
    const conditions: IfCondition[] = [];
    for (;;) {
      skip();
      if (header[at] === ')') {
        at++;
        break;
      }
      let not = false;
      if (/^not\b/i.test(header.slice(at, at + 4))) {
        not = true;
        at += 3;
        skip();
      }
      if (header[at] === '<') {
        const end = header.indexOf('>', at);
        if (end < 0) return null;
        conditions.push({ not, token: header.slice(at + 1, end) });
        at = end + 1;
      } else if (header[at] === '[') {
        const end = header.indexOf(']', at);
        if (end < 0) return null;
        conditions.push({ not, etag: header.slice(at + 1, end).replace(/^W\//, '') });
        at = end + 1;
      } else return null;
    }
    if (conditions.length === 0) return null;
    lists.push({ resource, conditions });
  }
  return lists.length > 0 ? lists : null;
}

/** Every state token an If header names (the lock tokens the request submits). */
export function submittedTokens(lists: readonly IfList[] | null): Set<string> {
  return new Set((lists ?? []).flatMap((l) => l.conditions.flatMap((c) => (c.token && !c.not ? [c.token] : []))));
}
