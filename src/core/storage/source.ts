/**
 * A put's data as a backend reads it: the caller's own stream, whose failures are the
 * caller's. A backend marks them (SourceError) so that put rethrows them as they were,
 * instead of taking them for a failure of the location.
 */

/** Marks an error thrown by the caller's data source, so it is rethrown as it was. */
export class SourceError extends Error {
  constructor(readonly source: unknown) {
    super('the data source failed');
  }
}

/**
 * The next step of a put's data: a source that fails, or yields anything but a Uint8Array,
 * fails with SourceError.
 */
export async function nextChunk(iterator: AsyncIterator<Uint8Array>): Promise<IteratorResult<Uint8Array>> {
  let step: IteratorResult<Uint8Array>;
  try {
    step = await iterator.next();
  } catch (err) {
    throw new SourceError(err);
  }
  if (!step.done && !(step.value instanceof Uint8Array))
    throw new SourceError(new TypeError('put data must yield Uint8Arrays'));
  return step;
}
