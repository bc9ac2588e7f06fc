/**
 * The HTTP plumbing under the WebDAV node (../webdav.ts): the PROPFIND bodies it sends, a
 * request body written with backpressure, an answer drained or read within a size and a
 * time bound. Every read of a server's answer here is bounded.
 */
import type * as http from 'node:http';
import { CorruptError, OfflineError, ShardvaultError } from '../../errors';
import { nextChunk } from '../source';

export const PROPFIND_BODY = utf8(
  '<?xml version="1.0" encoding="utf-8"?>' +
    '<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getcontentlength/><d:getlastmodified/>' +
    '</d:prop></d:propfind>',
);
export const QUOTA_BODY = utf8(
  '<?xml version="1.0" encoding="utf-8"?>' +
    '<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:quota-available-bytes/><d:quota-used-bytes/>' +
    '</d:prop></d:propfind>',
);

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Writes a stream into a request with backpressure; stops if the server has answered meanwhile. */
export async function pump(
  req: http.ClientRequest,
  body: AsyncIterable<Uint8Array>,
  answered: () => boolean,
): Promise<void> {
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    const step = await nextChunk(iterator);
    if (step.done) break;
    if (answered() || req.destroyed) {
      await iterator.return?.();
      return;
    }
    if (step.value.length === 0) continue;
    if (!req.write(step.value)) {
      await new Promise<void>((resolve, reject) => {
        const done = (): void => {
          req.off('drain', done);
          req.off('close', closed);
          resolve();
        };
        const closed = (): void => {
          req.off('drain', done);
          reject(Object.assign(new Error('connection closed during upload'), { code: 'ECONNRESET' }));
        };
        req.on('drain', done);
        req.on('close', closed);
      });
    }
  }
  await new Promise<void>((resolve) => req.end(resolve));
}

/** Reads and drops the rest of an answer, so its connection goes back to the pool. */
export async function drain(res: http.IncomingMessage): Promise<void> {
  if (res.readableEnded || res.destroyed) return;
  res.resume();
  await new Promise<void>((resolve) => {
    res.once('end', resolve);
    res.once('close', resolve);
    res.once('error', () => resolve());
  });
}

export async function readText(
  res: http.IncomingMessage,
  max: number,
  where: string,
  deadlineMs: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  // The request's timeout fires only on silence: a server sending a byte now and then would
  // hold a listing for ever. A whole answer must be in within this deadline.
  const timer = setTimeout(
    () =>
      res.destroy(
        new OfflineError(`${where}: the server's answer did not finish within ${Math.round(deadlineMs / 1000)} s`),
      ),
    deadlineMs,
  );
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > max) {
        res.destroy();
        throw new CorruptError(`${where}: the server's answer is larger than ${max} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof ShardvaultError) throw err;
    throw new OfflineError(`${where}: connection lost while reading an answer`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
