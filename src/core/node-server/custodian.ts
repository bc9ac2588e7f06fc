/**
 * The guard protocol's Custodian (src/core/guard/custodian.ts) hosted by `node serve`: its
 * store is DIR/guard/ (one 0600 file a name, written whole), its identity the node's Ed25519
 * identity key, its seal key DIR/seal.key (32 random bytes made at first start, 0600), and a
 * device counts as enrolled when the node enrolled it. Each POST /v1/guard/<method> is handed
 * to it; its envelope (`{ok, value}` or `{ok: false, reason, message}`) is the answer's body.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { Custodian, type GuardStore } from '../guard/custodian';
import type { GuardHandler } from './server';
import { readPrivate, writePrivate, type NodeState } from './state';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function guardStore(dir: string): GuardStore {
  const at = (name: string): string => {
    if (!NAME.test(name)) throw new RangeError(`guard store: bad name ${JSON.stringify(name.slice(0, 40))}`);
    return nodePath.join(dir, name);
  };
  return {
    async read(name) {
      const text = await readPrivate(at(name), 64 * 1024 * 1024, 'base64');
      return text === null ? undefined : new Uint8Array(Buffer.from(text, 'base64'));
    },
    write: (name, bytes) => writePrivate(at(name), bytes),
  };
}

/** The node's Custodian behind its guard endpoint. */
export async function hostCustodian(state: NodeState): Promise<GuardHandler> {
  const dir = nodePath.join(state.dir, 'guard');
  await fs.mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const sealPath = nodePath.join(state.dir, 'seal.key');
  let seal = await readPrivate(sealPath, 64, 'base64');
  if (seal === null) {
    seal = randomBytes(32).toString('base64');
    await writePrivate(sealPath, Buffer.from(seal, 'base64'));
  }
  const custodian = new Custodian({
    store: guardStore(dir),
    identitySeed: state.identitySeed,
    sealKey: new Uint8Array(Buffer.from(seal, 'base64')),
    isEnrolled: (key) => state.isDevice(Buffer.from(key).toString('base64url')),
    removeDevice: (key) => state.removeDevice(Buffer.from(key).toString('base64url')),
    devices: () =>
      state.deviceList().map((d) => ({ key: new Uint8Array(Buffer.from(d.key, 'base64url')), enrolled: d.enrolled })),
  });
  return {
    handle: (method, body) => custodian.handle(method, body),
    async enrolment(deviceKey, body) {
      const key = Buffer.from(deviceKey, 'base64url');
      const answer = await custodian.checkEnrolment(new Uint8Array(key), body);
      return answer.ok ? { ok: true } : { ok: false, message: answer.message };
    },
  };
}
