// A WebDAV server that never goes silent but never finishes (docs/SECURITY.md, "A location
// that lies"): a real loopback HTTP server written here answers PROPFIND with a 207 whose
// body arrives a few bytes at a time, each gap shorter than the node's silence timeout. The
// request timeout alone never fires; the node must still give up on the whole answer in
// bounded time, with the engine's OfflineError, for a listing and for a health check.
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfflineError } from '../../src/core/errors';
import { WebDavNode } from '../../src/core/storage/webdav/node';
import { appendCase } from './ledger';

const TIMEOUT_MS = 400; // the node's silence timeout; the whole-answer deadline is 4× this
const GAP_MS = 150; // shorter than TIMEOUT_MS: the connection is never silent for long

let server: http.Server;
let port = 0;
const trickles: NodeJS.Timeout[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    res.on('error', () => undefined);
    if (req.method !== 'PROPFIND') {
      res.statusCode = 405;
      res.end();
      return;
    }
    res.writeHead(207, { 'content-type': 'application/xml; charset=utf-8' });
    res.write('<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">');
    // One space every GAP_MS, for ever (until the client hangs up).
    const timer = setInterval(() => res.write(' '), GAP_MS);
    trickles.push(timer);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const t of trickles) clearInterval(t);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('a WebDAV server that trickles its answer', () => {
  it('a listing and a health check give up within the whole-answer deadline', async () => {
    const node = new WebDavNode({ url: `http://127.0.0.1:${port}/vault/`, timeoutMs: TIMEOUT_MS });
    const began = Date.now();
    let listMs: number;
    try {
      const started = performance.now();
      const listed = await node.list('keys').then(
        () => null,
        (err: unknown) => err,
      );
      listMs = performance.now() - started;
      expect(listed).toBeInstanceOf(OfflineError);
      expect((listed as Error).message).toMatch(/did not finish within/);
      // Bounded: the deadline (4 × 400 ms) plus slack for a loaded machine; without it, never.
      expect(listMs).toBeLessThan(15_000);

      const health = await node.health();
      expect(health.reachable).toBe(false);
      expect(health.error).toMatch(/did not finish within/);
    } finally {
      await node.close();
    }
    appendCase({
      name: 'webdav trickled answer',
      hostileRecords: 1,
      acceptedForgeries: [],
      outsideTouched: [],
      problems: [],
      notes: [`listing gave up after ${Math.round(listMs)} ms (silence timeout ${TIMEOUT_MS} ms)`],
      durationMs: Date.now() - began,
    });
  }, 30_000);
});
