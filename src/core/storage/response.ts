/**
 * What the HTTP kinds (WebDAV, S3) share about an answer: its body as the engine's stream, a
 * range answer read into memory, and the TLS failures that mean a certificate is not trusted.
 */
import type { Readable } from 'node:stream';
import { OfflineError } from '../errors';

/** TLS failures that mean "this certificate is not trusted": a person must act ('permission'). */
export const TLS_TRUST_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * A response body as the engine's stream: a broken or short body is OfflineError, and a
 * caller that stops early (break, return()) releases the connection, read or not.
 */
export class ResponseStream implements AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  private readonly inner: AsyncIterator<Buffer>;
  private received = 0;

  constructor(
    private readonly body: Readable,
    private readonly expected: number | null,
    private readonly where: string,
  ) {
    this.inner = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    let step: IteratorResult<Buffer>;
    try {
      step = await this.inner.next();
    } catch (err) {
      this.body.destroy();
      throw new OfflineError(`${this.where}: connection lost during download`, { cause: err });
    }
    if (step.done) {
      if (this.expected !== null && this.received !== this.expected) {
        throw new OfflineError(`${this.where}: download ended after ${this.received} of ${this.expected} bytes`);
      }
      return { done: true, value: undefined };
    }
    this.received += step.value.length;
    if (this.expected !== null && this.received > this.expected) {
      this.body.destroy();
      throw new OfflineError(`${this.where}: the server sent more than the ${this.expected} bytes it announced`);
    }
    return { done: false, value: step.value };
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.body.destroy();
    await this.inner.return?.();
    return { done: true, value: undefined };
  }
}

/** A `Content-Range: bytes FIRST-LAST/TOTAL` header (RFC 9110 14.4), TOTAL null for `*`; null when malformed. */
export function parseContentRange(
  header: string | undefined,
): { readonly first: number; readonly last: number; readonly total: number | null } | null {
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header ?? '');
  if (!range) return null;
  return { first: Number(range[1]), last: Number(range[2]), total: range[3] === '*' ? null : Number(range[3]) };
}

/**
 * Reads up to `max` bytes of a range answer's body into memory, dropping the first `skip` (a
 * server that ignored the range and sent the whole object), then releases the body. A body
 * that breaks is OfflineError; one that ends early is the caller's to judge: `received` is
 * every byte that came, skipped ones included.
 */
export async function readRangeBody(
  body: Readable,
  skip: number,
  max: number,
  where: string,
): Promise<{ readonly bytes: Uint8Array; readonly received: number }> {
  const out = new Uint8Array(max);
  let got = 0;
  let received = 0;
  let toSkip = skip;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      received += chunk.length;
      const from = Math.min(toSkip, chunk.length);
      toSkip -= from;
      const take = Math.min(chunk.length - from, max - got);
      out.set(chunk.subarray(from, from + take), got);
      got += take;
      if (got === max) break;
    }
  } catch (err) {
    throw new OfflineError(`${where}: connection lost during download`, { cause: err });
  } finally {
    if (!body.readableEnded) body.destroy();
  }
  return { bytes: got === max ? out : out.subarray(0, got), received };
}
