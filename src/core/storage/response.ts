/**
 * What the HTTP kinds (WebDAV, S3) share about an answer: its body as the engine's stream,
 * and the TLS failures that mean a certificate is not trusted.
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
