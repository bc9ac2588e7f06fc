/**
 * The guard's custodian hosted by `node serve` (docs/GUARD.md "What the node server hosts"):
 * its store is DIR/guard/ (every file 0600, written whole through a temporary name, fsynced,
 * renamed, the folder fsynced), its identity is the node's identity key (the one the app
 * pins), and what it writes is sealed under DIR/guard.key, 32 random bytes kept 0600 as the
 * node keeps its identity and TLS keys. A request's device must be one the node enrolled.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { Custodian, type GuardStore } from '../guard/custodian';
import type { GuardHandler } from './server';
import { writePrivate, type NodeState } from './state';

const NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const NAME = /^[a-z0-9-]{1,80}$/;
/** A custodian's record is small (a sealed share, the policy, registrations): bound every read. */
const MAX_RECORD = 16 * 1024 * 1024;

/** A GuardStore over one folder of DIR (names checked, no link followed, writes durable). */
export async function folderGuardStore(dir: string): Promise<GuardStore> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.lstat(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder`);
  const at = (name: string): string => {
    if (!NAME.test(name)) throw new RangeError(`a guard store name is [a-z0-9-]{1,80}: ${name.slice(0, 90)}`);
    return nodePath.join(dir, name);
  };
  return {
    async read(name) {
      let handle;
      try {
        handle = await fs.open(at(name), fsConstants.O_RDONLY | NOFOLLOW);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      try {
        const info = await handle.stat();
        if (!info.isFile() || info.size > MAX_RECORD)
          throw new Error(`${at(name)}: not a file of at most ${MAX_RECORD} bytes`);
        return new Uint8Array(await handle.readFile());
      } finally {
        await handle.close();
      }
    },
    async write(name, bytes) {
      await writePrivate(at(name), bytes);
      const folder = await fs.open(dir, fsConstants.O_RDONLY);
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
    },
  };
}

/** The node's seal key (DIR/guard.key), made at first use. */
async function sealKeyOf(state: NodeState): Promise<Uint8Array> {
  const path = nodePath.join(state.dir, 'guard.key');
  let text: string | null = null;
  try {
    const handle = await fs.open(path, fsConstants.O_RDONLY | NOFOLLOW);
    try {
      text = (await handle.readFile({ encoding: 'utf8' })).trim();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text === null) {
    text = randomBytes(32).toString('base64url');
    await writePrivate(path, text + '\n');
  }
  const key = Buffer.from(text, 'base64url');
  if (key.length !== 32) throw new Error(`${path}: not a 32-byte key`);
  return new Uint8Array(key);
}

/** The custodian of the node in `state`, as the server's guard handler. */
export async function nodeCustodian(state: NodeState): Promise<GuardHandler & { readonly custodian: Custodian }> {
  const jwk = state.identity.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string') throw new Error('the node identity key is not an Ed25519 private key');
  const custodian = new Custodian({
    store: await folderGuardStore(nodePath.join(state.dir, 'guard')),
    identitySeed: new Uint8Array(Buffer.from(jwk.d, 'base64url')),
    sealKey: await sealKeyOf(state),
    isEnrolled: (deviceKey) => state.isDevice(Buffer.from(deviceKey).toString('base64url')),
  });
  return {
    custodian,
    // The signed request names its device; the custodian checks that one is enrolled here.
    handle: (method, body) => custodian.handle(method, body),
  };
}
