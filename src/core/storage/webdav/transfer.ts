/**
 * Moving object bytes: put (to a temporary name, checked by its size on the server, then
 * moved into place), get (streamed) and readRange. A reader may miss a replaced object for
 * an instant (MOVE is delete-then-rename): get asks twice before a 404 counts.
 */
import { CorruptError, OfflineError } from '../../errors';
import { assertObjectPath, assertRange, newTempPath } from '../node';
import { parseContentRange, readRangeBody, ResponseStream } from '../response';
import { SourceError } from '../source';
import type { DavCollections } from './collections';
import { drain } from './http';
import type { Answer, Body, DavSession } from './session';

/** How long get waits before it asks again about a missing object (see get). */
const REPLACE_WINDOW_MS = 100;

export async function put(
  s: DavSession,
  dirs: DavCollections,
  path: string,
  data: AsyncIterable<Uint8Array> | Uint8Array,
): Promise<number> {
  assertObjectPath(path);
  await s.ready();
  const temp = newTempPath();
  await dirs.ensureParents(temp);
  await dirs.ensureParents(path);
  let sent = 0;
  const counted: Body =
    data instanceof Uint8Array
      ? data
      : (async function* () {
          for await (const chunk of data) {
            if (!(chunk instanceof Uint8Array)) throw new TypeError('put data must yield Uint8Arrays');
            sent += chunk.length;
            yield chunk;
          }
        })();
  try {
    const { status, res } = await s.request('PUT', temp, {
      body: counted,
      headers: data instanceof Uint8Array ? { 'content-length': String(data.length) } : {},
    });
    await drain(res);
    if (status !== 200 && status !== 201 && status !== 204) throw s.statusError('PUT', path, status);
    const written = data instanceof Uint8Array ? data.length : sent;
    const stored = await s.propfindOne(temp);
    if (stored === null || stored.size !== written) {
      throw new OfflineError(
        `${s.display}: ${path}: the server holds ${stored?.size ?? 'none'} of ${written} bytes sent`,
      );
    }
    await dirs.move(temp, path);
    return written;
  } catch (err) {
    await dirs.deleteQuietly(temp);
    if (err instanceof SourceError) throw err.source;
    throw err;
  }
}

export async function get(s: DavSession, path: string): Promise<AsyncIterable<Uint8Array>> {
  assertObjectPath(path);
  await s.ready();
  const { status, res } = await fetch(s, path);
  if (status !== 200) {
    await drain(res);
    throw s.statusError('GET', path, status);
  }
  const length = res.headers['content-length'];
  return new ResponseStream(res, length === undefined ? null : Number(length), `${s.display}: ${path}`);
}

export async function readRange(s: DavSession, path: string, offset: number, length: number): Promise<Uint8Array> {
  assertObjectPath(path);
  assertRange(offset, length);
  await s.ready();
  const where = `${s.display}: ${path}`;
  const { status, res } = await fetch(s, path, { range: `bytes=${offset}-${offset + length - 1}` });
  if (status === 416) {
    await drain(res); // the range starts past the end
    return new Uint8Array(0);
  }
  if (status !== 200 && status !== 206) {
    await drain(res);
    throw s.statusError('GET', path, status);
  }
  // 206 is the range asked for (shorter where the object ends); 200 is a server that ignores
  // ranges and sends the whole object, read up to the range's end.
  let skip = 0;
  if (status === 206) {
    if (parseContentRange(res.headers['content-range'])?.first !== offset) {
      res.destroy();
      throw new CorruptError(`${where}: the server answered another range than the one asked for`);
    }
  } else skip = offset;
  const announced = res.headers['content-length'] === undefined ? null : Number(res.headers['content-length']);
  const { bytes, received } = await readRangeBody(res, skip, length, where);
  if (bytes.length < length && announced !== null && received < announced) {
    throw new OfflineError(`${where}: download ended after ${received} of ${announced} bytes`);
  }
  return bytes;
}

/** GET, asking twice before a 404 counts (see get). */
async function fetch(s: DavSession, path: string, headers?: Record<string, string>): Promise<Answer> {
  let answer = await s.request('GET', path, headers ? { headers } : {});
  if (answer.status === 404) {
    // Apache and rclone carry out a MOVE onto an existing object as delete-then-rename:
    // a reader can miss a replaced object for an instant. Ask once more before saying so.
    await drain(answer.res);
    await new Promise((resolve) => setTimeout(resolve, REPLACE_WINDOW_MS));
    answer = await s.request('GET', path, headers ? { headers } : {});
  }
  return answer;
}
