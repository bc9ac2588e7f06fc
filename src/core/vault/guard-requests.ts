/**
 * Access requests of guarded files when the policy asks for guardian approvals (docs/GUARD.md,
 * FORMAT.md "Access requests"). The requesting device publishes its signed request on every
 * reachable location (`requests/<id>`, sealed under the vault's manifest key: only the vault's
 * devices read it); a guardian's device lists them, and approves (its Ed25519 signature over
 * the request, as the nodes check it) or denies, as `approvals/<id>-<guardian key>`. The
 * requester reads the answers, checks every approval's signature itself, and sends the
 * approvals with its request again. A location can hide or drop these records (the opening
 * then waits, and fails after --wait); it cannot forge one.
 */
import { openWithNonce, sealWithNonce } from '../crypto/aead';
import { concat, equalBytes, fromHex, toHex, utf8 } from '../crypto/bytes';
import { ed25519Verify } from '../crypto/signing';
import { ShardvaultError, UsageError } from '../errors';
import type { HeadGuard } from '../format/head';
import type { Manifest } from '../format/manifest';
import { PATHS } from '../format/records';
import { Coordinator } from '../guard/coordinator';
import { APPROVAL_MAX_MS, approvalDigest, requestMessage, type AccessRequest, type Approval } from '../guard/request';
import { approvalToJson, readRequest, requestToJson, WireReader, type Json } from '../guard/wire';
import { readObject } from '../storage/node';
import type { ApprovalWait } from './guard';
import { session } from './guard';
import type { Vault } from './vault';

const MAX_RECORD = 64 * 1024;
const REQUEST_NAME = /^requests\/([0-9a-f]{32})$/;
const POLL_MS = 1000;

const requestAad = (vaultId: string, requestId: string): Uint8Array =>
  concat(utf8('SVRQ'), fromHex(vaultId, 'vaultId', 16), fromHex(requestId, 'requestId', 16));
const answerAad = (vaultId: string, requestId: string, guardianKey: Uint8Array): Uint8Array =>
  concat(utf8('SVAP'), fromHex(vaultId, 'vaultId', 16), fromHex(requestId, 'requestId', 16), guardianKey);

function seal(vault: Vault, aad: Uint8Array, value: Json): Uint8Array {
  return sealWithNonce(vault.requireKeys().manifest, utf8(JSON.stringify(value)), aad);
}

/** The first copy on any location that opens under the vault's key, or undefined. */
async function readSealed(vault: Vault, path: string, aad: Uint8Array): Promise<unknown> {
  for (const l of vault.locations) {
    try {
      const bytes = await readObject(l.node, path, MAX_RECORD);
      const plain = openWithNonce(vault.requireKeys().manifest, bytes, aad, path);
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain)) as unknown;
    } catch {
      // missing here, or not ours: the next location
    }
  }
  return undefined;
}

async function publish(vault: Vault, path: string, bytes: Uint8Array): Promise<void> {
  const stored = await vault.everywhere((l) => l.node.put(path, bytes));
  if (!stored.some((r) => r.error === undefined)) throw new ShardvaultError('unavailable', `no location took ${path}`);
}

interface Answers {
  readonly approvals: Approval[];
  readonly deniedBy: string[];
}

/** The guardians' answers to `request` found on the locations, each approval checked here. */
async function answersTo(vault: Vault, request: AccessRequest, guard: HeadGuard, now: number): Promise<Answers> {
  const approvals: Approval[] = [];
  const deniedBy: string[] = [];
  for (const key of guard.guardians) {
    if (equalBytes(key, request.deviceKey)) continue; // the requester's own never counts
    const value = await readSealed(
      vault,
      PATHS.approval(request.requestId, toHex(key)),
      answerAad(vault.vaultId, request.requestId, key),
    );
    if (typeof value !== 'object' || value === null) continue;
    const o = value as Record<string, unknown>;
    if (o.denied === true) {
      deniedBy.push(toHex(key).slice(0, 12));
      continue;
    }
    const expiry = o.expiry;
    const signature = typeof o.signature === 'string' ? Buffer.from(o.signature, 'base64') : null;
    if (typeof expiry !== 'number' || !Number.isSafeInteger(expiry) || signature === null || signature.length !== 64)
      continue;
    if (expiry <= now || expiry > now + APPROVAL_MAX_MS) continue;
    const signed = new Uint8Array(signature);
    if (!ed25519Verify(key, approvalDigest(request, expiry), signed)) continue;
    approvals.push({ guardianKey: key, expiry, signature: signed });
  }
  return { approvals, deniedBy };
}

/** Publishes `request` and waits for the policy's approvals; throws code `approval` (exit 7). */
export async function waitForApprovals(
  vault: Vault,
  m: Manifest,
  request: AccessRequest,
  guard: HeadGuard,
  waiting: ApprovalWait,
): Promise<Approval[]> {
  const needed = guard.approvals;
  const waitS = waiting.wait ?? 300;
  await publish(
    vault,
    PATHS.request(request.requestId),
    seal(vault, requestAad(vault.vaultId, request.requestId), {
      request: requestToJson(request),
      name: m.name,
      device: vault.deviceName,
    }),
  );
  const deadline = Date.now() + waitS * 1000;
  let said = -1;
  for (;;) {
    const { approvals, deniedBy } = await answersTo(vault, request, guard, Date.now());
    if (deniedBy.length > 0)
      throw new ShardvaultError(
        'approval',
        `${m.name}: request ${request.requestId} was denied by guardian ${deniedBy.join(', ')}`,
      );
    if (approvals.length !== said) {
      said = approvals.length;
      waiting.say?.(`${said} of ${needed} approvals (request ${request.requestId})`);
      waiting.counted?.(said, needed);
    }
    if (approvals.length >= needed) return approvals;
    if (Date.now() >= deadline)
      throw new ShardvaultError(
        'approval',
        `${m.name} needs ${needed} guardian ${needed === 1 ? 'approval' : 'approvals'}: ${approvals.length} of ` +
          `${needed} after ${waitS} s (on a guardian's device: shardvault approve ${request.requestId})`,
      );
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}

export interface PendingRequest {
  readonly id: string;
  readonly file: string;
  readonly device: string;
  readonly deviceKey: string;
  readonly time: string;
  readonly approvals: number;
  readonly needed: number;
  readonly denied: boolean;
}

async function findRequests(vault: Vault): Promise<{ request: AccessRequest; name: string; device: string }[]> {
  const ids = new Set<string>();
  const listed = await vault.everywhere((l) => l.node.list(PATHS.requestsDir));
  for (const r of listed)
    for (const o of (r.value ?? []).slice(0, 1000)) {
      const id = REQUEST_NAME.exec(o.path)?.[1];
      if (id !== undefined) ids.add(id);
    }
  const out: { request: AccessRequest; name: string; device: string }[] = [];
  const now = Date.now();
  for (const id of ids) {
    const value = await readSealed(vault, PATHS.request(id), requestAad(vault.vaultId, id));
    try {
      const r = new WireReader('access request');
      const o = r.object(value, 'record', ['request', 'name', 'device']);
      const request = readRequest(r, o.request, 'request');
      if (request.requestId !== id || request.vaultId !== vault.vaultId) continue;
      if (!ed25519Verify(request.deviceKey, requestMessage(request), request.signature)) continue;
      // A request lives as long as an approval could: older ones are history (the nodes' logs).
      if (now - request.time > APPROVAL_MAX_MS) continue;
      out.push({ request, name: r.string(o.name, 'name', 1024), device: r.string(o.device, 'device', 200) });
    } catch {
      // not a record this vault's devices wrote: ignored
    }
  }
  return out.sort((a, b) => a.request.time - b.request.time);
}

/** `requests`: pending openings of guarded files, newest last. */
export async function listRequests(vault: Vault): Promise<PendingRequest[]> {
  const guard = vault.head().guard;
  if (guard === undefined) return [];
  const now = Date.now();
  const out: PendingRequest[] = [];
  for (const { request, name, device } of await findRequests(vault)) {
    const answers = await answersTo(vault, request, guard, now);
    out.push({
      id: request.requestId,
      file: name,
      device,
      deviceKey: Buffer.from(request.deviceKey).toString('base64url'),
      time: new Date(request.time).toISOString(),
      approvals: answers.approvals.length,
      needed: guard.approvals,
      denied: answers.deniedBy.length > 0,
    });
  }
  return out;
}

/** `approve ID` / `deny ID` on a guardian's device. */
export async function answerRequest(vault: Vault, id: string, approve: boolean): Promise<PendingRequest> {
  const guard = vault.head().guard;
  if (guard === undefined) throw new UsageError('this vault has no guard');
  const found = (await findRequests(vault)).find((r) => r.request.requestId === id);
  if (found === undefined) throw new ShardvaultError('not-found', `no pending request ${id}`);
  const s = session(vault, guard);
  try {
    const me = s.devicePublicKey;
    if (!guard.guardians.some((k) => equalBytes(k, me)))
      throw new UsageError('this device is not a guardian of the vault');
    if (equalBytes(found.request.deviceKey, me))
      throw new UsageError("this device made the request: a requester's own approval does not count");
    const record: Json = approve
      ? approvalToJson(Coordinator.approve(s.device, found.request, Date.now() + APPROVAL_MAX_MS - 60_000))
      : { denied: true };
    await publish(vault, PATHS.approval(id, toHex(me)), seal(vault, answerAad(vault.vaultId, id, me), record));
  } finally {
    await s.close();
  }
  return (await listRequests(vault)).find((r) => r.id === id)!;
}
