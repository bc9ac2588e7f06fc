/**
 * The node's request log: one JSON line per authenticated request, append-only and
 * hash-chained. Line n is `{"seq":n,"time":…,"device":…,"method":…,"target":…,"body":…,
 * "status":…,"prev":H(line n-1)}` (prev of the first: 64 zeros), H = SHA-256 of the line's
 * bytes, lowercase hex. No endpoint writes it; enrolled devices read it (GET /v1/log) and
 * check the chain with `verifyChain` (src/core/storage/shardnode/log-chain.ts).
 *
 * The whole log is read and checked at start (a log broken on disk stops the node: someone
 * with the folder rewrote it); appends are written in order, those that arrive together in
 * one write and one fdatasync.
 */
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { GENESIS, verifyChain, type LogEntry } from '../storage/shardnode/log-chain';
import { sha256Hex } from '../storage/shardnode/protocol';

export class RequestLog {
  private lines: string[] = [];

  private constructor(private readonly path: string) {
    this.synced = 0;
  }

  static async open(path: string): Promise<RequestLog> {
    const log = new RequestLog(path);
    let text = '';
    try {
      const handle = await fs.open(path, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
      try {
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    log.lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    log.synced = log.lines.length;
    const broken = verifyChain(log.lines, 0, GENESIS);
    if (broken !== null) throw new Error(`${path}: the request log is broken at entry ${broken}: it was rewritten`);
    return log;
  }

  get length(): number {
    return this.lines.length;
  }

  /** The hash the next entry chains to. */
  private get head(): string {
    const last = this.lines[this.lines.length - 1];
    return last === undefined ? GENESIS : sha256Hex(last);
  }

  /**
   * Adds an entry (in memory at once, so the next read sees it) and resolves once it is on
   * disk. Entries that arrive while a write is under way go together in the next one (one
   * write and one fdatasync for all of them).
   */
  append(entry: Omit<LogEntry, 'seq' | 'prev'>): Promise<void> {
    const line = JSON.stringify({
      seq: this.lines.length,
      time: entry.time,
      device: entry.device,
      method: entry.method,
      target: entry.target,
      body: entry.body,
      status: entry.status,
      prev: this.head,
    } satisfies LogEntry);
    this.lines.push(line);
    this.pending.push(line);
    return this.until(this.lines.length);
  }

  private pending: string[] = [];
  private flushing: Promise<void> | null = null;
  /** How many lines are on disk (written and synced). */
  private synced: number;

  /** Resolves once the first `count` lines are on disk. */
  private async until(count: number): Promise<void> {
    while (this.synced < count) {
      this.flushing ??= this.flush().finally(() => {
        this.flushing = null;
      });
      await this.flushing;
    }
  }

  private async flush(): Promise<void> {
    const handle = await fs.open(
      this.path,
      fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | (fsConstants.O_NOFOLLOW ?? 0),
      0o600,
    );
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        try {
          await handle.write(batch.join('\n') + '\n');
          await handle.datasync();
        } catch (err) {
          this.pending.unshift(...batch); // tried again by the next append
          throw err;
        }
        this.synced += batch.length;
      }
    } finally {
      await handle.close();
    }
  }

  /** Lines from `from`, at most `limit`, and the hash the first of them chains to. */
  page(from: number, limit: number): { lines: string[]; prev: string; total: number } {
    const start = Math.min(Math.max(0, from), this.lines.length);
    const prev = start === 0 ? GENESIS : sha256Hex(this.lines[start - 1]!);
    return { lines: this.lines.slice(start, start + limit), prev, total: this.lines.length };
  }
}
