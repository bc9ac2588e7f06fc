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
import { sessionHash, type DkgSession } from '../guard/dkg';
import {
  APPROVAL_MAX_MS,
  approvalDigest,
  changeApprovalDigest,
  changeApprovalsNeeded,
  denialDigest,
  ENROL_REQUEST_MAX_MS,
  enrolMessage,
  policyMessage,
  removalApprovalsNeeded,
  removalMessage,
  requestMessage,
  type AccessRequest,
  type Approval,
  type DeviceRemoval,
  type EnrolRequest,
  type PolicyChange,
} from '../guard/request';
import {
  approvalToJson,
  enrolRequestToJson,
  policyChangeToJson,
  readEnrolRequest,
  readPolicyChange,
  readRemoval,
  readRequest,
  readSession,
  removalToJson,
  requestToJson,
  sessionToJson,
  WireReader,
  type Json,
} from '../guard/wire';
import { readObject } from '../storage/node';
import { fetchManifest } from './files';
import type { ApprovalWait } from './guard';
import { session } from './guard';
import type { Vault } from './vault';

const MAX_RECORD = 64 * 1024;
const REQUEST_NAME = /^requests\/([0-9a-f]{32})$/;
const POLL_MS = 1000;

/** The AAD of a published request record (FORMAT.md, "Access requests"). */
export const requestAad = (vaultId: string, requestId: string): Uint8Array =>
  concat(utf8('SVRQ'), fromHex(vaultId, 'vaultId', 16), fromHex(requestId, 'requestId', 16));
/** The AAD of a guardian's answer record (FORMAT.md, "Access requests"). */
export const answerAad = (vaultId: string, requestId: string, guardianKey: Uint8Array): Uint8Array =>
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
  /** Guardians (hex, shortened) whose signed denial verified. */
  readonly deniedBy: string[];
  /** Guardians in whose name a denial lies on the locations that they did not sign: ignored. */
  readonly forgedDenials: string[];
}

/**
 * What waits for the guardians: an opening of a guarded file (the nodes check `approvalDigest`),
 * or a change of the guard itself, a policy change or a re-sharing (`changeApprovalDigest`).
 */
export type Subject =
  | { readonly kind: 'open'; readonly request: AccessRequest }
  | { readonly kind: 'policy'; readonly change: PolicyChange }
  | { readonly kind: 'reshare'; readonly session: DkgSession; readonly time: number }
  | { readonly kind: 'enrol'; readonly enrol: EnrolRequest }
  | { readonly kind: 'remove'; readonly removal: DeviceRemoval };

/** What every kind of subject has: its id, the requester's key, its time and its vault. */
function facts(s: Subject): { id: string; device: Uint8Array; time: number; vault: string } {
  switch (s.kind) {
    case 'open':
      return { id: s.request.requestId, device: s.request.deviceKey, time: s.request.time, vault: s.request.vaultId };
    case 'policy':
      return { id: s.change.requestId, device: s.change.deviceKey, time: s.change.time, vault: s.change.vaultId };
    case 'enrol':
      return { id: s.enrol.requestId, device: s.enrol.deviceKey, time: s.enrol.time, vault: s.enrol.vaultId };
    case 'remove':
      return {
        id: s.removal.requestId,
        device: s.removal.deviceKey,
        time: s.removal.time,
        vault: s.removal.vaultId,
      };
    case 'reshare':
      return { id: s.session.setupId, device: s.session.deviceKey, time: s.time, vault: s.session.vaultId };
  }
}
const subjectId = (s: Subject): string => facts(s).id;
const subjectDevice = (s: Subject): Uint8Array => facts(s).device;
const subjectTime = (s: Subject): number => facts(s).time;
const subjectVault = (s: Subject): string => facts(s).vault;

/**
 * How many approvals `s` needs: the policy's g for an opening and an enrolment (with g = 0 a
 * node enrols any device with its code), more for some changes (request.ts).
 */
const neededFor = (s: Subject, guard: HeadGuard): number =>
  s.kind === 'open' || s.kind === 'enrol'
    ? guard.approvals
    : s.kind === 'remove'
      ? removalApprovalsNeeded(guard, s.removal)
      : changeApprovalsNeeded(guard, subjectDevice(s));

/**
 * What the requester signed of a change of the guard, and its signature (none for a
 * re-sharing: its session is authorized by the device's signature the nodes check in round 1).
 */
function signed(s: Exclude<Subject, { kind: 'open' }>): { message: Uint8Array; signature: Uint8Array | null } {
  switch (s.kind) {
    case 'policy':
      return { message: policyMessage(s.change), signature: s.change.signature };
    case 'enrol':
      return { message: enrolMessage(s.enrol), signature: s.enrol.signature };
    case 'remove':
      return { message: removalMessage(s.removal), signature: s.removal.signature };
    case 'reshare':
      return { message: sessionHash(s.session), signature: null };
  }
}

/** The bytes a guardian signs to approve `s` until `expiry` (as the nodes check them). */
function digestOf(s: Subject, expiry: number): Uint8Array {
  if (s.kind === 'open') return approvalDigest(s.request, expiry);
  const f = facts(s);
  return changeApprovalDigest(f.vault, f.id, f.device, signed(s).message, expiry);
}

function signedBySender(s: Subject): boolean {
  if (s.kind === 'open') return ed25519Verify(s.request.deviceKey, requestMessage(s.request), s.request.signature);
  const { message, signature } = signed(s);
  return signature === null || ed25519Verify(subjectDevice(s), message, signature);
}

function subjectToJson(s: Subject): Json {
  if (s.kind === 'open') return { request: requestToJson(s.request) };
  if (s.kind === 'policy') return { change: policyChangeToJson(s.change) };
  if (s.kind === 'enrol') return { enrol: enrolRequestToJson(s.enrol) };
  if (s.kind === 'remove') return { removal: removalToJson(s.removal) };
  return { session: sessionToJson(s.session), time: s.time };
}

/** The guardians' answers to `subject` found on the locations, each approval checked here. */
async function answersTo(vault: Vault, subject: Subject, guard: HeadGuard, now: number): Promise<Answers> {
  const approvals: Approval[] = [];
  const deniedBy: string[] = [];
  const forgedDenials: string[] = [];
  const id = subjectId(subject);
  for (const key of guard.guardians) {
    if (equalBytes(key, subjectDevice(subject))) continue; // the requester's own never counts
    const value = await readSealed(vault, PATHS.approval(id, toHex(key)), answerAad(vault.vaultId, id, key));
    if (typeof value !== 'object' || value === null) continue;
    const o = value as Record<string, unknown>;
    const signature = typeof o.signature === 'string' ? Buffer.from(o.signature, 'base64') : null;
    if (o.denied === true) {
      // Believed only when this guardian signed it (any holder of the vault key can write the
      // record; a denial written before denials were signed is ignored the same way).
      const signed =
        signature !== null &&
        signature.length === 64 &&
        ed25519Verify(key, denialDigest(vault.vaultId, id, subjectDevice(subject)), new Uint8Array(signature));
      (signed ? deniedBy : forgedDenials).push(toHex(key).slice(0, 12));
      continue;
    }
    const expiry = o.expiry;
    if (typeof expiry !== 'number' || !Number.isSafeInteger(expiry) || signature === null || signature.length !== 64)
      continue;
    if (expiry <= now || expiry > now + APPROVAL_MAX_MS) continue;
    const signed = new Uint8Array(signature);
    if (!ed25519Verify(key, digestOf(subject, expiry), signed)) continue;
    approvals.push({ guardianKey: key, expiry, signature: signed });
  }
  return { approvals, deniedBy, forgedDenials };
}

/** Publishes an opening's request and waits for the policy's approvals; throws code `approval` (exit 7). */
export function waitForApprovals(
  vault: Vault,
  m: Manifest,
  request: AccessRequest,
  guard: HeadGuard,
  waiting: ApprovalWait,
): Promise<Approval[]> {
  return waitFor(vault, { kind: 'open', request }, m.name, guard, waiting);
}

/**
 * Publishes a change of the guard (what: its words for the guardians) and waits for the
 * policy's approvals. A policy change and a device removal must reach the nodes within 5
 * minutes of being signed, so their wait is at most 4 minutes; an enrolment within 20 (ENROL_REQUEST_MAX_MS), so at most 10.
 */
export function waitForChangeApprovals(
  vault: Vault,
  subject: Exclude<Subject, { kind: 'open' }>,
  what: string,
  waiting: ApprovalWait,
): Promise<Approval[]> {
  const guard = vault.head().guard;
  if (guard === undefined) throw new UsageError('this vault has no guard');
  const wait =
    subject.kind === 'policy' || subject.kind === 'remove'
      ? Math.min(waiting.wait ?? 240, 240)
      : subject.kind === 'enrol'
        ? Math.min(waiting.wait ?? 300, 600)
        : waiting.wait;
  return waitFor(vault, subject, what, guard, { ...waiting, ...(wait === undefined ? {} : { wait }) });
}

async function waitFor(
  vault: Vault,
  subject: Subject,
  what: string,
  guard: HeadGuard,
  waiting: ApprovalWait,
): Promise<Approval[]> {
  const needed = neededFor(subject, guard);
  const waitS = waiting.wait ?? 300;
  const id = subjectId(subject);
  await publish(
    vault,
    PATHS.request(id),
    seal(vault, requestAad(vault.vaultId, id), {
      ...(subjectToJson(subject) as object),
      name: what,
      device: vault.deviceName,
    }),
  );
  const deadline = Date.now() + waitS * 1000;
  let said = -1;
  const warned = new Set<string>();
  for (;;) {
    const { approvals, deniedBy, forgedDenials } = await answersTo(vault, subject, guard, Date.now());
    for (const k of forgedDenials.filter((x) => !warned.has(x))) {
      warned.add(k);
      waiting.say?.(`warning: a denial of request ${id} in guardian ${k}'s name is not signed by it: ignored`);
    }
    if (deniedBy.length > 0)
      throw new ShardvaultError('approval', `${what}: request ${id} was denied by guardian ${deniedBy.join(', ')}`);
    if (approvals.length !== said) {
      said = approvals.length;
      waiting.say?.(`${said} of ${needed} approvals (request ${id})`);
      waiting.counted?.(said, needed);
    }
    if (approvals.length >= needed) return approvals;
    if (Date.now() >= deadline)
      throw new ShardvaultError(
        'approval',
        `${what} needs ${needed} guardian ${needed === 1 ? 'approval' : 'approvals'}: ${approvals.length} of ` +
          `${needed} after ${waitS} s (on a guardian's device: shardvault approve ${id})`,
      );
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}

export interface PendingRequest {
  readonly id: string;
  /** The guarded file to open, or the change of the guard in words. */
  readonly file: string;
  readonly device: string;
  readonly deviceKey: string;
  readonly time: string;
  readonly approvals: number;
  readonly needed: number;
  readonly denied: boolean;
}

function readSubject(r: WireReader, o: Record<string, unknown>): Subject {
  if ('request' in o) return { kind: 'open', request: readRequest(r, o.request, 'request') };
  if ('change' in o) return { kind: 'policy', change: readPolicyChange(r, o.change, 'change') };
  if ('enrol' in o) return { kind: 'enrol', enrol: readEnrolRequest(r, o.enrol, 'enrol') };
  if ('removal' in o) return { kind: 'remove', removal: readRemoval(r, o.removal, 'removal') };
  return {
    kind: 'reshare',
    session: readSession(r, o.session, 'session'),
    time: r.int(o.time, 'time', 0, Number.MAX_SAFE_INTEGER),
  };
}

async function findRequests(vault: Vault): Promise<{ subject: Subject; name: string; device: string }[]> {
  const ids = new Set<string>();
  const listed = await vault.everywhere((l) => l.node.list(PATHS.requestsDir));
  for (const r of listed)
    for (const o of (r.value ?? []).slice(0, 1000)) {
      const id = REQUEST_NAME.exec(o.path)?.[1];
      if (id !== undefined) ids.add(id);
    }
  const out: { subject: Subject; name: string; device: string }[] = [];
  const now = Date.now();
  for (const id of ids) {
    const value = await readSealed(vault, PATHS.request(id), requestAad(vault.vaultId, id));
    try {
      const r = new WireReader('access request');
      const kind = typeof value === 'object' && value !== null ? value : {};
      const fields =
        'request' in kind
          ? ['request']
          : 'change' in kind
            ? ['change']
            : 'enrol' in kind
              ? ['enrol']
              : 'removal' in kind
                ? ['removal']
                : ['session', 'time'];
      const o = r.object(value, 'record', [...fields, 'name', 'device']);
      const subject = readSubject(r, o);
      if (subjectId(subject) !== id || subjectVault(subject) !== vault.vaultId) continue;
      if (!signedBySender(subject)) continue;
      // A request lives as long as an approval could: older ones are history (the nodes' logs).
      if (now - subjectTime(subject) > APPROVAL_MAX_MS) continue;
      out.push({ subject, name: r.string(o.name, 'name', 1024), device: r.string(o.device, 'device', 200) });
    } catch {
      // not a record this vault's devices wrote: ignored
    }
  }
  return out.sort((a, b) => subjectTime(a.subject) - subjectTime(b.subject));
}

/**
 * A change of the guard in words made here from what it does (never the requester's own
 * words: a guardian approves what the nodes will be asked, not a description of it).
 */
function describe(vault: Vault, subject: Subject, guard: HeadGuard, name: string): string {
  const key = (k: Uint8Array): string => Buffer.from(k).toString('base64url').slice(0, 10) + '…';
  if (subject.kind === 'open') return name;
  if (subject.kind === 'enrol')
    return `enrol device ${key(subject.enrol.deviceKey)} at the guard's nodes (a new machine: it could then ask to open guarded files)`;
  if (subject.kind === 'remove')
    return `remove device ${key(subject.removal.device)} from the guard's nodes (they refuse it from then on)`;
  if (subject.kind === 'policy') {
    const c = subject.change;
    const added = c.guardians.filter((k) => !guard.guardians.some((x) => equalBytes(x, k))).map(key);
    const removed = guard.guardians.filter((k) => !c.guardians.some((x) => equalBytes(x, k))).map(key);
    return (
      `guard policy: ${c.guardians.length} guardians, ${c.approvals} approvals` +
      (added.length > 0 ? `; adds ${added.join(', ')}` : '') +
      (removed.length > 0 ? `; removes ${removed.join(', ')}` : '')
    );
  }
  const names = subject.session.receivers.map((r) => {
    const m = guard.members.find((x) => equalBytes(x.identityKey, r.identityKey));
    return m === undefined
      ? `new node ${key(r.identityKey)}`
      : (vault.profileLocations().find((l) => l.id === m.location)?.name ?? key(r.identityKey));
  });
  return `guard re-sharing to ${names.length} nodes: ${names.join(', ')}`;
}

/**
 * This device's enrolment request whose guardians' approvals are in already (and good for at
 * least another minute), or null: one approval of "enrol device X at the guard's nodes" serves
 * every node X enrols at, so a new machine is approved once, not once per node.
 */
export async function approvedEnrolment(
  vault: Vault,
  deviceKey: Uint8Array,
): Promise<{ request: EnrolRequest; approvals: Approval[] } | null> {
  const guard = vault.head().guard;
  if (guard === undefined) return null;
  const now = Date.now();
  for (const { subject } of (await findRequests(vault)).reverse()) {
    if (subject.kind !== 'enrol' || !equalBytes(subject.enrol.deviceKey, deviceKey)) continue;
    if (now + 60_000 - subject.enrol.time > ENROL_REQUEST_MAX_MS) continue;
    const { approvals, deniedBy } = await answersTo(vault, subject, guard, now + 60_000);
    if (deniedBy.length === 0 && approvals.length >= guard.approvals) return { request: subject.enrol, approvals };
  }
  return null;
}

/**
 * What an opening would open, from this device's head and the file's manifest: the file's name
 * when (fileId, version, point) are those of a guarded file of this vault, else why not. The
 * requester writes the record's `name` (and may register any point it likes with the nodes, a
 * blinded k·R of another file's point among them): a guardian approves only what the vault says.
 */
async function opening(vault: Vault, request: AccessRequest, name: string): Promise<{ file: string; ok: boolean }> {
  const not = (why: string): { file: string; ok: boolean } => ({
    file: `not a file of this vault (${why}; the requester calls it ${JSON.stringify(name.slice(0, 80))})`,
    ok: false,
  });
  const f = vault.head().files.find((x) => x.id === request.fileId);
  if (f === undefined) return not('no file has its id');
  let m: Manifest;
  try {
    m = await fetchManifest(vault, f);
  } catch {
    return not('its manifest cannot be read');
  }
  if (m.guard === undefined) return not('the file is not guarded');
  if (m.guard.keyVersion !== request.version || !equalBytes(m.guard.point, request.point))
    return not('another point than the file’s');
  return { file: f.name, ok: true };
}

/** `requests`: pending openings of guarded files and changes of the guard, newest last. */
export async function listRequests(vault: Vault): Promise<PendingRequest[]> {
  const guard = vault.head().guard;
  if (guard === undefined) return [];
  const now = Date.now();
  const out: PendingRequest[] = [];
  for (const { subject, name, device } of await findRequests(vault)) {
    const answers = await answersTo(vault, subject, guard, now);
    out.push({
      id: subjectId(subject),
      file:
        subject.kind === 'open'
          ? (await opening(vault, subject.request, name)).file
          : describe(vault, subject, guard, name),
      device,
      deviceKey: Buffer.from(subjectDevice(subject)).toString('base64url'),
      time: new Date(subjectTime(subject)).toISOString(),
      approvals: answers.approvals.length,
      needed: neededFor(subject, guard),
      denied: answers.deniedBy.length > 0,
    });
  }
  return out;
}

/** `approve ID` / `deny ID` on a guardian's device. */
export async function answerRequest(vault: Vault, id: string, approve: boolean): Promise<PendingRequest> {
  const guard = vault.head().guard;
  if (guard === undefined) throw new UsageError('this vault has no guard');
  const found = (await findRequests(vault)).find((r) => subjectId(r.subject) === id);
  if (found === undefined) throw new ShardvaultError('not-found', `no pending request ${id}`);
  // Logged as a guard change: which request, and what it asked, in this device's words.
  const what =
    found.subject.kind === 'open'
      ? (await opening(vault, found.subject.request, found.name)).file
      : describe(vault, found.subject, guard, found.name);
  const detail = `${approve ? 'approved' : 'denied'} request ${id} of ${found.device}: ${what}`.slice(0, 1024);
  return vault.audited('guard', { detail }, () => answer(vault, guard, found, id, approve));
}

async function answer(
  vault: Vault,
  guard: HeadGuard,
  found: { subject: Subject; name: string; device: string },
  id: string,
  approve: boolean,
): Promise<PendingRequest> {
  const s = session(vault, guard);
  try {
    const me = s.devicePublicKey;
    if (!guard.guardians.some((k) => equalBytes(k, me)))
      throw new UsageError('this device is not a guardian of the vault');
    if (equalBytes(subjectDevice(found.subject), me))
      throw new UsageError("this device made the request: a requester's own approval does not count");
    if (approve && found.subject.kind === 'open') {
      const o = await opening(vault, found.subject.request, found.name);
      if (!o.ok) throw new UsageError(`request ${id} is ${o.file}: not approved`);
    }
    const expiry = Date.now() + APPROVAL_MAX_MS - 60_000;
    const record: Json = approve
      ? approvalToJson({ guardianKey: me, expiry, signature: s.device.sign(digestOf(found.subject, expiry)) })
      : {
          denied: true,
          signature: Buffer.from(s.device.sign(denialDigest(vault.vaultId, id, subjectDevice(found.subject)))).toString(
            'base64',
          ),
        };
    await publish(vault, PATHS.approval(id, toHex(me)), seal(vault, answerAad(vault.vaultId, id, me), record));
  } finally {
    await s.close();
  }
  return (await listRequests(vault)).find((r) => r.id === id)!;
}
