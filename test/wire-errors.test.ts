// Errors crossing to another thread (src/core/errors.ts toWireError/fromWireError, used by the
// SFTP worker): each through a real MessageChannel, as postMessage clones it, and back as the
// same class with the same fields. Structured cloning alone keeps neither.
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  CorruptError,
  ForeignObjectError,
  fromWireError,
  LocationsError,
  NotFoundError,
  OfflineError,
  ShardvaultError,
  toWireError,
  UsageError,
  type WireError,
} from '../src/core/errors';

/** An engine error of a class fromWireError does not list (the guard's and the node's have such). */
class ElsewhereError extends ShardvaultError {
  override readonly name = 'ElsewhereError';
}

/** `err` as the other thread gets it. */
async function across(err: unknown): Promise<Error> {
  const { port1, port2 } = new MessageChannel();
  try {
    const got = new Promise<WireError>((resolve) => port2.once('message', resolve));
    port1.postMessage(toWireError(err));
    return fromWireError(await got);
  } finally {
    port1.close();
    port2.close();
  }
}

describe('errors across a thread', () => {
  it('come back as their classes, with code, message and fields', async () => {
    const cases: Error[] = [
      new NotFoundError('a is missing'),
      new CorruptError('bad bytes'),
      new ForeignObjectError('a link'),
      new UsageError('say it right'),
      new AuthError('wrong passphrase'),
      new ShardvaultError('no-space', 'full'),
      new ShardvaultError('permission', 'refused'),
      new RangeError('bad object path'),
      new TypeError('not bytes'),
    ];
    for (const err of cases) {
      const back = await across(err);
      expect(back.constructor, err.name).toBe(err.constructor);
      expect(back.name).toBe(err.name);
      expect(back.message).toBe(err.message);
      if (err instanceof ShardvaultError) expect((back as ShardvaultError).code).toBe(err.code);
    }
  });

  it("keep OfflineError's unresponsive and LocationsError's positions and cause", async () => {
    const frozen = await across(new OfflineError('no answer', { unresponsive: true }));
    expect(frozen).toBeInstanceOf(OfflineError);
    expect((frozen as OfflineError).unresponsive).toBe(true);
    expect(((await across(new OfflineError('dropped'))) as OfflineError).unresponsive).toBe(false);
    const some = await across(new LocationsError([0, 2], new NotFoundError('gone')));
    expect(some).toBeInstanceOf(LocationsError);
    expect((some as LocationsError).locations).toEqual([0, 2]);
    expect((some as LocationsError).code).toBe('not-found');
    expect(some.cause).toBeInstanceOf(NotFoundError);
  });

  it("keep an engine error of another class as a ShardvaultError by its name, and a library's code and level", async () => {
    const other = await across(new ElsewhereError('unavailable', 'not here'));
    expect(other).toBeInstanceOf(ShardvaultError);
    expect(other.name).toBe('ElsewhereError');
    expect((other as ShardvaultError).code).toBe('unavailable');
    const lib = Object.assign(new Error('All configured authentication methods failed'), {
      level: 'client-authentication',
    });
    const sys = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const wrapped = await across(new OfflineError('cannot connect', { cause: sys }));
    expect((wrapped.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(((await across(lib)) as { level?: string }).level).toBe('client-authentication');
    expect((await across('a string')).message).toBe('a string');
  });
});
