// Guarded files, in process: three real Custodians (each with its own store, identity key and
// seal key) behind a transport that sends every body through JSON, and the app's Coordinator.
// G = 2. Setup by DKG, put registers R, open with any 2 of 3 and not with 1; a hostile node is
// caught by its proof every time and named; DKG faults abort and name; the refusals; re-sharing
// to a fourth node keeps P; the request log chains.
import { hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openWithNonce, sealWithNonce } from '../src/core/crypto/aead';
import { equalBytes, fromBase64, fromHex, toHex, utf8 } from '../src/core/crypto/bytes';
import { sealTo } from '../src/core/crypto/sealed-box';
import { ed25519Sign } from '../src/core/crypto/signing';
import { Coordinator, deviceSigner, type GuardGroup, type GuardNode } from '../src/core/guard/coordinator';
import { Custodian, type GuardStore } from '../src/core/guard/custodian';
import {
  commitmentHash,
  complaintMessage,
  dealRound2,
  firstPolicy,
  newDealing,
  round1Message,
  round2Message,
  sessionHash,
  type DkgSession,
} from '../src/core/guard/dkg';
import { generateProof, GUARD_CONTEXT } from '../src/core/guard/dleq';
import { GuardFault, GuardRefusal, REFUSAL_REASONS } from '../src/core/guard/errors';
import { combinePartials, deriveKek } from '../src/core/guard/kek';
import {
  BASE,
  decodePoint,
  decodeScalar,
  frame,
  encodePoint,
  encodeScalar,
  lagrangeAtZero,
  mul,
  mulBase,
  randomScalar,
  scalarAdd,
  scalarMul,
} from '../src/core/guard/group';
import { verifyChain, GENESIS, type LogEntry } from '../src/core/guard/request-log';
import {
  GUARD_METHODS,
  localTransport,
  unwrap,
  type GuardResponse,
  type GuardTransport,
} from '../src/core/guard/transport';
import {
  changeApprovalDigest,
  denialDigest,
  enrolMessage,
  registrationMessage,
  removalMessage,
} from '../src/core/guard/request';
import {
  enrolRequestToJson,
  readRound1,
  readRound2,
  readSession,
  registrationToJson,
  requestToJson,
  round2ToJson,
  WireReader,
  type Json,
} from '../src/core/guard/wire';
import { CorruptError, ShardvaultError } from '../src/core/errors';
import type { HeadGuard } from '../src/core/format/head';
import { sameGuard } from '../src/core/vault/guard-reshare';

const VAULT = 'a1'.repeat(16);
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const FILE_A = 'f1'.repeat(16);
const FILE_B = 'f2'.repeat(16);

class MemoryStore implements GuardStore {
  readonly objects = new Map<string, Uint8Array>();
  read(name: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.objects.get(name));
  }
  write(name: string, bytes: Uint8Array): Promise<void> {
    this.objects.set(name, new Uint8Array(bytes));
    return Promise.resolve();
  }
}

interface NodeUnderTest {
  readonly nodeId: string;
  readonly custodian: Custodian;
  /** The device keys (hex) this node enrolled. */
  readonly enrolled: Set<string>;
  readonly store: MemoryStore;
  readonly seed: Uint8Array;
  readonly sealKey: Uint8Array;
}

const owner = deviceSigner(new Uint8Array(randomBytes(32)));
const guardian = deviceSigner(new Uint8Array(randomBytes(32)));
const stranger = deviceSigner(new Uint8Array(randomBytes(32)));
/** An enrolled device that is no guardian (a laptop that may be lost). */
const member = deviceSigner(new Uint8Array(randomBytes(32)));
const FIRST = firstPolicy(owner.publicKey);

function makeNodes(ids: readonly string[], clock: { now: number }): NodeUnderTest[] {
  return ids.map((nodeId) => {
    const store = new MemoryStore();
    const seed = new Uint8Array(randomBytes(32));
    const sealKey = new Uint8Array(randomBytes(32));
    // Each node's own enrolled devices: a removal takes a key off this node only.
    const enrolled = new Set([toHex(owner.publicKey), toHex(guardian.publicKey), toHex(member.publicKey)]);
    const custodian = new Custodian({
      store,
      identitySeed: seed,
      sealKey,
      isEnrolled: (key) => enrolled.has(toHex(key)),
      removeDevice: (key) => enrolled.delete(toHex(key)),
      now: () => clock.now,
    });
    return { nodeId, custodian, enrolled, store, seed, sealKey };
  });
}

const guardNodes = (nodes: readonly NodeUnderTest[]): GuardNode[] =>
  nodes.map((n) => ({ nodeId: n.nodeId, identityKey: n.custodian.identityKey }));

/** The share a node sealed in its store (the test knows its seal key). */
function storedShare(node: NodeUnderTest): { index: number; share: bigint } | undefined {
  const boxed = node.store.objects.get('state');
  if (boxed === undefined) return undefined;
  const state = JSON.parse(
    new TextDecoder().decode(openWithNonce(node.sealKey, boxed, utf8('shardvault/v1/guard/state'))),
  ) as { retired: boolean; index: number; share: string };
  if (state.retired) return undefined;
  return { index: state.index, share: decodeScalar(fromBase64(state.share, 'share', 32), 'share') };
}

/** A transport that lets a test rewrite one node's answers (a hostile node). */
function hostile(
  inner: GuardTransport,
  rewrite: (nodeId: string, method: string, answer: GuardResponse, body: Json) => GuardResponse,
): GuardTransport {
  return {
    async call(nodeId, method, body) {
      return rewrite(nodeId, method, await inner.call(nodeId, method, body), body);
    },
  };
}

function world(ids = ['a', 'b', 'c']) {
  const clock = { now: Date.UTC(2026, 11, 6, 12) };
  const nodes = makeNodes(ids, clock);
  const byId = new Map(nodes.map((n) => [n.nodeId, n.custodian]));
  const down = new Set<string>();
  const transport = localTransport(byId, down);
  const coordinator = new Coordinator(transport, owner, VAULT, { now: () => clock.now });
  return { clock, nodes, byId, down, transport, coordinator };
}

type PartialAnswer = Record<string, string | number>;

/** A coordinator (the owner's) whose node `liar` answers every `partial` as `lie` rewrites it. */
function lyingAt(w: ReturnType<typeof world>, liar: string, lie: (v: PartialAnswer) => PartialAnswer): Coordinator {
  return new Coordinator(
    hostile(w.transport, (nodeId, method, answer) =>
      nodeId === liar && method === 'partial' && answer.ok
        ? { ok: true, value: lie(answer.value as PartialAnswer) }
        : answer,
    ),
    owner,
    VAULT,
    { now: () => w.clock.now },
  );
}

async function setUp(w: ReturnType<typeof world>, G = 2): Promise<GuardGroup> {
  const session = w.coordinator.planSetup(guardNodes(w.nodes), G);
  return w.coordinator.run(session, guardNodes(w.nodes));
}

async function expectRefusal(work: Promise<unknown>, reason: string): Promise<void> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a refusal (${reason})`).toBeInstanceOf(GuardRefusal);
  expect((error as GuardRefusal).reason).toBe(reason);
}

describe('guard setup (Pedersen DKG)', () => {
  it('gives every node a share; any 2 interpolate to the committed P, one alone does not', async () => {
    const w = world();
    const group = await setUp(w);
    expect(group.threshold).toBe(2);
    expect(group.members.map((m) => m.nodeId)).toEqual(['a', 'b', 'c']);
    const shares = w.nodes.map((n) => storedShare(n)!);
    for (const s of shares) {
      // The public share the app computed from the commitments is s_i·B.
      const member = group.members.find((m) => m.index === s.index)!;
      expect(equalBytes(encodePoint(mulBase(s.share)), member.publicShare)).toBe(true);
      expect(equalBytes(encodePoint(mulBase(s.share)), group.groupKey)).toBe(false);
    }
    for (const pair of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      const chosen = pair.map((i) => shares[i]!);
      const indices = chosen.map((s) => s.index);
      const secret = chosen.reduce(
        (acc, s) => scalarAdd(acc, scalarMul(lagrangeAtZero(indices, s.index), s.share)),
        0n,
      );
      expect(toHex(encodePoint(mulBase(secret)))).toBe(toHex(group.groupKey));
    }
    // Each node says what the app computed, and logged the setup.
    const info = (await w.byId.get('b')!.handle('info', {})) as { ok: true; value: Record<string, unknown> };
    expect(info.value.publicShare).toBe(Buffer.from(group.members[1]!.publicShare).toString('base64'));
    expect(info.value.logLength).toBe(1);
  });

  it('property: for random n and G, any G stored shares interpolate to P', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 4 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 2, max: n }))),
        async ([n, G]) => {
          const w = world(Array.from({ length: n }, (_, i) => `n${i}`));
          const group = await setUp(w, G);
          const shares = w.nodes.map((node) => storedShare(node)!);
          // A random subset of exactly G nodes.
          const subset = [...shares].sort(() => Math.random() - 0.5).slice(0, G);
          const indices = subset.map((s) => s.index);
          const secret = subset.reduce(
            (acc, s) => scalarAdd(acc, scalarMul(lagrangeAtZero(indices, s.index), s.share)),
            0n,
          );
          expect(toHex(encodePoint(mulBase(secret)))).toBe(toHex(group.groupKey));
          if (G > 2) {
            // G − 1 shares interpolate to something else.
            const fewer = subset.slice(0, G - 1);
            const idx = fewer.map((s) => s.index);
            const guess = fewer.reduce(
              (acc, s) => scalarAdd(acc, scalarMul(lagrangeAtZero(idx, s.index), s.share)),
              0n,
            );
            expect(toHex(encodePoint(mulBase(guess)))).not.toBe(toHex(group.groupKey));
          }
        },
      ),
      { numRuns: 6 },
    );
  });
});

describe('guarded files: open with G of the nodes', () => {
  it('opens with any 2 of 3, and not with 1', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    expect(put.missed).toEqual([]);
    for (const off of ['a', 'b', 'c']) {
      w.down.clear();
      w.down.add(off);
      const opened = await w.coordinator.open(
        group,
        w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }),
      );
      expect(toHex(opened.kek)).toBe(toHex(put.kek));
      expect(opened.used).not.toContain(off);
      expect(opened.unreachable).toEqual(off === 'c' ? [] : [off]);
    }
    w.down.clear();
    w.down.add('a');
    w.down.add('b');
    const error = await w.coordinator
      .open(group, w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShardvaultError);
    expect((error as ShardvaultError).code).toBe('unavailable');
    expect((error as Error).message).toMatch(/only 1 of 2/);
  });

  it('catches a node returning a wrong partial every time, names it and routes around it', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    const lies: ((value: Record<string, string | number>) => Record<string, string | number>)[] = [
      // Another point with its honest-looking proof kept.
      (v) => ({ ...v, partial: b64(encodePoint(mulBase(randomScalar()))) }),
      // Z_i + B.
      (v) => ({
        ...v,
        partial: b64(encodePoint(decodePoint(fromBase64(v.partial as string, 'Z', 32), 'Z').add(BASE))),
      }),
      // A lie with a proof that is valid for another key (the liar's own k, k·B, k·R).
      (v) => {
        const k = randomScalar();
        const R = decodePoint(put.point, 'R');
        const Z = mul(R, k);
        return {
          ...v,
          partial: b64(encodePoint(Z)),
          proof: b64(generateProof(GUARD_CONTEXT, k, mulBase(k), [R], [Z])),
        };
      },
      // Another node's index.
      (v) => ({ ...v, index: 3 }),
    ];
    for (let round = 0; round < 12; round++) {
      const lie = lies[round % lies.length]!;
      const liar = ['a', 'b', 'c'][round % 3]!;
      const coordinator = lyingAt(w, liar, lie);
      const opened = await coordinator.open(
        group,
        coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }),
      );
      expect(toHex(opened.kek)).toBe(toHex(put.kek));
      if (opened.used.length === 2 && !opened.liars.includes(liar)) {
        // The liar was not among the first G asked: it was not needed.
        expect(opened.used).not.toContain(liar);
      } else {
        expect(opened.liars).toEqual([liar]);
        expect(opened.used).not.toContain(liar);
      }
    }
    // With the liar needed (one honest node down), the open fails and names it.
    w.down.add('c');
    const coordinator = lyingAt(w, 'a', lies[0]!);
    const error = await coordinator
      .open(group, coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }))
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/lying: a/);
  });
});

describe('guard opening with an authenticated check of the key (as a get does)', () => {
  // The app combines the first G answers at once and checks their proofs only if the KEK
  // does not open the file's inner wrap (AES-GCM under the KEK): a wrong partial still never
  // gives a key, and its node is still named every time its partial was used.
  function wrapUnder(kek: Uint8Array): (candidate: Uint8Array) => boolean {
    const fileKey = new Uint8Array(randomBytes(32));
    const boxed = sealWithNonce(kek, fileKey, utf8('guard accept test'));
    return (candidate) => {
      try {
        return equalBytes(openWithNonce(candidate, boxed, utf8('guard accept test')), fileKey);
      } catch {
        return false;
      }
    };
  }
  const wrongPartial = (v: Record<string, string | number>): Record<string, string | number> => ({
    ...v,
    partial: b64(encodePoint(decodePoint(fromBase64(v.partial as string, 'Z', 32), 'Z').add(BASE))),
  });
  const badProof = (v: Record<string, string | number>): Record<string, string | number> => ({
    ...v,
    proof: b64(new Uint8Array(randomBytes(64))),
  });

  it('a wrong partial among the first G is found by its proof, named and routed around', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    for (const liar of ['a', 'b']) {
      const coordinator = lyingAt(w, liar, wrongPartial);
      const opened = await coordinator.open(
        group,
        coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }),
        [],
        wrapUnder(put.kek),
      );
      expect(toHex(opened.kek)).toBe(toHex(put.kek));
      expect(opened.liars).toEqual([liar]);
      expect(opened.used).toEqual(['a', 'b', 'c'].filter((n) => n !== liar));
    }
  });

  it('with one honest node down the liar is named and nothing opens', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    w.down.add('c');
    const coordinator = lyingAt(w, 'b', wrongPartial);
    const accept = wrapUnder(put.kek);
    let accepted = 0;
    const error = await coordinator
      .open(group, coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }), [], (k) => {
        const ok = accept(k);
        if (ok) accepted++;
        return ok;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShardvaultError);
    expect((error as Error).message).toMatch(/only 1 of 2 nodes answered \(lying: b; unreachable: c\)/);
    expect(accepted).toBe(0);
  });

  it('a right partial with a false proof opens (the key is proven by the wrap); without the check it is named', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    const coordinator = lyingAt(w, 'a', badProof);
    const request = (): ReturnType<Coordinator['newRequest']> =>
      coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point });
    const opened = await coordinator.open(group, request(), [], wrapUnder(put.kek));
    expect(toHex(opened.kek)).toBe(toHex(put.kek));
    expect(opened.liars).toEqual([]);
    const checked = await coordinator.open(group, request());
    expect(toHex(checked.kek)).toBe(toHex(put.kek));
    expect(checked.liars).toEqual(['a']);
  });

  it('partials that hold their proofs but open nothing: the record is at fault (CorruptError)', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    let asked = 0;
    const error = await w.coordinator
      .open(group, w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }), [], () => {
        asked++;
        return false;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptError);
    expect((error as Error).message).toMatch(/hold their proofs, but their key does not open/);
    // Once combined unchecked, once from the checked partials.
    expect(asked).toBe(2);
  });
});

describe('guard DKG faults abort and name the node', () => {
  /** Re-signs a dealer's round-2 message after `change`: a dealer that lies, not a relay. */
  function lyingDealer(
    w: ReturnType<typeof world>,
    liar: string,
    change: (m: ReturnType<typeof readRound2>, session: DkgSession) => ReturnType<typeof readRound2>,
  ) {
    let session: DkgSession | undefined;
    const node = w.nodes.find((n) => n.nodeId === liar)!;
    return hostile(w.transport, (nodeId, method, answer, body) => {
      if (method === 'dkg-round1' && session === undefined) {
        // The session as the coordinator sent it (the test reads it back through the wire reader).
        session = readSessionFrom(body);
      }
      if (nodeId !== liar || method !== 'dkg-round2' || !answer.ok) return answer;
      const m = change(readRound2(new WireReader('test'), answer.value, 'round2'), session!);
      const sid = sessionHash(session!);
      const signed = { ...m, signature: ed25519Sign(node.seed, round2Message(sid, m)) };
      return { ok: true, value: round2ToJson(signed) };
    });
  }

  it('a bad share: the receiver complains, the app opens the box and names the dealer', async () => {
    const w = world();
    const encKeys = new Map<number, Uint8Array>();
    const transport = lyingDealer(w, 'b', (m, session) => {
      const sid = sessionHash(session);
      const wrong = encodeScalar(randomScalar());
      const shares = m.shares.map((s) =>
        s.index === 1 ? { index: 1, box: sealTo(encKeys.get(1)!, wrong, frameShare(sid, 2, 1)) } : s,
      );
      return { ...m, shares };
    });
    const spy = hostile(transport, (nodeId, method, answer) => {
      if (method === 'dkg-round1' && answer.ok) {
        const v = answer.value as { encryptionKey: string };
        const index = ['a', 'b', 'c'].indexOf(nodeId) + 1;
        encKeys.set(index, fromBase64(v.encryptionKey, 'k', 32));
      }
      return answer;
    });
    const coordinator = new Coordinator(spy, owner, VAULT, { now: () => w.clock.now });
    const error = await coordinator
      .run(coordinator.planSetup(guardNodes(w.nodes), 2), guardNodes(w.nodes))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardFault);
    expect((error as GuardFault).culprit).toBe('b');
    expect((error as Error).message).toMatch(/share that does not match/);
    for (const n of w.nodes) expect(storedShare(n)).toBeUndefined();
  });

  it('a bad proof of knowledge aborts before any share is opened, naming the dealer', async () => {
    const w = world();
    const transport = lyingDealer(w, 'c', (m) => ({ ...m, proof: new Uint8Array(randomBytes(64)) }));
    const coordinator = new Coordinator(transport, owner, VAULT, { now: () => w.clock.now });
    const error = await coordinator
      .run(coordinator.planSetup(guardNodes(w.nodes), 2), guardNodes(w.nodes))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardFault);
    expect((error as GuardFault).culprit).toBe('c');
    expect((error as Error).message).toMatch(/proof of knowledge/);
    for (const n of w.nodes) expect(storedShare(n)).toBeUndefined();
  });

  it('commitments changed after round 1 abort, naming the dealer', async () => {
    const w = world();
    const transport = lyingDealer(w, 'a', (m) => ({
      ...m,
      commitments: [m.commitments[0]!, encodePoint(mulBase(randomScalar()))],
    }));
    const coordinator = new Coordinator(transport, owner, VAULT, { now: () => w.clock.now });
    const error = await coordinator
      .run(coordinator.planSetup(guardNodes(w.nodes), 2), guardNodes(w.nodes))
      .catch((e: unknown) => e);
    expect((error as GuardFault).culprit).toBe('a');
    expect((error as Error).message).toMatch(/commitments differ/);
  });

  it('a relay that alters a message is caught by the signature, naming the node it forged', async () => {
    const w = world();
    const transport = hostile(w.transport, (nodeId, method, answer) => {
      if (nodeId !== 'b' || method !== 'dkg-round2' || !answer.ok) return answer;
      return {
        ok: true,
        value: { ...(answer.value as Record<string, Json>), proof: b64(new Uint8Array(randomBytes(64))) },
      };
    });
    const coordinator = new Coordinator(transport, owner, VAULT, { now: () => w.clock.now });
    const error = await coordinator
      .run(coordinator.planSetup(guardNodes(w.nodes), 2), guardNodes(w.nodes))
      .catch((e: unknown) => e);
    expect((error as GuardFault).culprit).toBe('b');
    expect((error as Error).message).toMatch(/signature/);
  });

  it('a false complaint names the complainer', async () => {
    const w = world();
    let session: DkgSession | undefined;
    const node = w.nodes.find((n) => n.nodeId === 'a')!;
    const transport = hostile(w.transport, (nodeId, method, answer, body) => {
      if (method === 'dkg-round1' && session === undefined) session = readSessionFrom(body);
      if (nodeId !== 'a' || method !== 'dkg-round3' || !answer.ok) return answer;
      const body2 = { accused: w.nodes[1]!.custodian.identityKey, decryptionKey: new Uint8Array(randomBytes(32)) };
      const signature = ed25519Sign(node.seed, complaintMessage(sessionHash(session!), body2));
      return {
        ok: true,
        value: {
          complaint: {
            identityKey: Buffer.from(node.custodian.identityKey).toString('base64'),
            accused: Buffer.from(body2.accused).toString('base64'),
            decryptionKey: Buffer.from(body2.decryptionKey).toString('base64'),
            signature: Buffer.from(signature).toString('base64'),
          },
        },
      };
    });
    const coordinator = new Coordinator(transport, owner, VAULT, { now: () => w.clock.now });
    const error = await coordinator
      .run(coordinator.planSetup(guardNodes(w.nodes), 2), guardNodes(w.nodes))
      .catch((e: unknown) => e);
    expect((error as GuardFault).culprit).toBe('a');
    expect((error as Error).message).toMatch(/complained/);
  });

  it('an unenrolled device cannot start a setup', async () => {
    const w = world();
    const coordinator = new Coordinator(w.transport, stranger, VAULT, { now: () => w.clock.now });
    await expectRefusal(
      coordinator.run(coordinator.planSetup(guardNodes(w.nodes), 2), guardNodes(w.nodes)),
      'not-enrolled',
    );
  });

  it('a second setup over held shares is refused', async () => {
    const w = world();
    await setUp(w);
    await expectRefusal(setUp(w), 'dkg');
  });
});

function readSessionFrom(body: Json): DkgSession {
  return readSession(new WireReader('test'), (body as { session: unknown }).session);
}
const frameShare = (sid: Uint8Array, dealer: number, receiver: number): Uint8Array =>
  frame('share', sid, dealer, receiver);

describe('custodians refuse what they should', () => {
  it('refuses a replayed request, another file’s R, a stale time, an unenrolled device, a duplicate R', async () => {
    const w = world();
    const group = await setUp(w);
    const a = await w.coordinator.register(group, FILE_A, 1);
    await w.coordinator.register(group, FILE_B, 1);
    const request = w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: a.point });
    await w.coordinator.open(group, request);
    // The same signed request again: every node refuses (the two that answered say replayed).
    const again = await w.coordinator.open(group, request).catch((e: unknown) => e);
    expect((again as Error).message).toMatch(/replayed/);
    // File B's request carrying file A's point.
    await expectRefusal(
      w.transport
        .call('a', 'partial', {
          request: requestToJson(w.coordinator.newRequest({ fileId: FILE_B, version: 1, point: a.point })),
          approvals: [],
        })
        .then((r) => unwrap('a', r)),
      'unregistered',
    );
    // Version 2 of file A with version 1's point.
    const v2 = await w.coordinator
      .open(group, w.coordinator.newRequest({ fileId: FILE_A, version: 2, point: a.point }))
      .catch((e: unknown) => e);
    expect((v2 as Error).message).toMatch(/unregistered/);
    // A request made 6 minutes ago.
    const old = w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: a.point });
    w.clock.now += 6 * 60_000;
    const stale = await w.coordinator.open(group, old).catch((e: unknown) => e);
    expect((stale as Error).message).toMatch(/stale/);
    // A device no node enrolled.
    const thief = new Coordinator(w.transport, stranger, VAULT, { now: () => w.clock.now });
    const denied = await thief
      .open(group, thief.newRequest({ fileId: FILE_A, version: 1, point: a.point }))
      .catch((e: unknown) => e);
    expect((denied as Error).message).toMatch(/not-enrolled/);
    // Registering the same point twice.
    const fields = {
      vaultId: VAULT,
      fileId: FILE_B,
      version: 2,
      point: a.point,
      nonce: new Uint8Array(16),
      time: w.clock.now,
      deviceKey: owner.publicKey,
    };
    const registration = { ...fields, signature: owner.sign(registrationMessage(fields)) };
    await expectRefusal(
      w.transport.call('b', 'register', { registration: registrationToJson(registration) }).then((r) => unwrap('b', r)),
      'duplicate',
    );
  });

  it('with g = 1, needs a guardian’s fresh approval; the requester’s own and an expired one do not count', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    // Owner (first guardian) makes guardian a second one and asks for 1 approval; g was 0.
    await w.coordinator.changePolicy(group, w.coordinator.newPolicyChange([owner.publicKey, guardian.publicKey], 1, 2));
    const request = w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point });
    await expectRefusal(w.coordinator.open(group, request), 'approvals');
    const own = Coordinator.approve(owner, request, w.clock.now + 60_000);
    await expectRefusal(w.coordinator.open(group, request, [own]), 'approvals');
    const expired = Coordinator.approve(guardian, request, w.clock.now - 1);
    await expectRefusal(w.coordinator.open(group, request, [expired]), 'approvals');
    const tooLong = Coordinator.approve(guardian, request, w.clock.now + 16 * 60_000);
    await expectRefusal(w.coordinator.open(group, request, [tooLong]), 'approvals');
    const otherRequest = Coordinator.approve(
      guardian,
      w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }),
      w.clock.now + 60_000,
    );
    await expectRefusal(w.coordinator.open(group, request, [otherRequest]), 'approvals');
    const good = Coordinator.approve(guardian, request, w.clock.now + 10 * 60_000);
    const opened = await w.coordinator.open(group, request, [good]);
    expect(toHex(opened.kek)).toBe(toHex(put.kek));
    // Changing the policy now needs that approval too.
    const change = w.coordinator.newPolicyChange([owner.publicKey], 0, 3);
    await expectRefusal(w.coordinator.changePolicy(group, change), 'approvals');
    await w.coordinator.changePolicy(group, change, [
      Coordinator.approveChange(guardian, change, w.clock.now + 60_000),
    ]);
    const free = await w.coordinator.open(
      group,
      w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }),
    );
    expect(toHex(free.kek)).toBe(toHex(put.kek));
  });

  it("with g = 1, enrolling a new device key needs a guardian's approval of that very key, fresh", async () => {
    const w = world();
    const group = await setUp(w);
    const node = w.byId.get('a')!;
    const thief = deviceSigner(new Uint8Array(randomBytes(32)));
    // g = 0: any device with the node's code enrols, as before.
    expect(await node.checkEnrolment(thief.publicKey, undefined)).toMatchObject({ ok: true });
    await w.coordinator.changePolicy(group, w.coordinator.newPolicyChange([owner.publicKey, guardian.publicKey], 1, 2));
    const request = (by = thief, time = w.clock.now) => {
      const fields = { vaultId: VAULT, requestId: toHex(randomBytes(16)), time, deviceKey: by.publicKey };
      return { ...fields, signature: by.sign(enrolMessage(fields)) };
    };
    const approve = (who: typeof owner, e: ReturnType<typeof request>, expiry = w.clock.now + 60_000) => ({
      guardianKey: who.publicKey,
      expiry,
      signature: who.sign(changeApprovalDigest(VAULT, e.requestId, e.deviceKey, enrolMessage(e), expiry)),
    });
    const ask = (key: Uint8Array, e: ReturnType<typeof request>, approvals: ReturnType<typeof approve>[]) =>
      node.checkEnrolment(key, {
        request: enrolRequestToJson(e),
        approvals: approvals.map((a) => ({
          guardianKey: b64(a.guardianKey),
          expiry: a.expiry,
          signature: b64(a.signature),
        })),
      });
    const e = request();
    expect(await node.checkEnrolment(thief.publicKey, undefined)).toMatchObject({ ok: false, reason: 'approvals' });
    expect(await ask(thief.publicKey, e, [])).toMatchObject({ ok: false, reason: 'approvals' });
    // The thief's own signature as a "guardian", an expired approval, one for another device.
    expect(await ask(thief.publicKey, e, [approve(thief, e)])).toMatchObject({ ok: false, reason: 'approvals' });
    expect(await ask(thief.publicKey, e, [approve(guardian, e, w.clock.now - 1)])).toMatchObject({ ok: false });
    const other = request(stranger);
    expect(await ask(thief.publicKey, e, [approve(guardian, other)])).toMatchObject({ ok: false });
    // A good approval of another key's request, presented for the thief's key: refused.
    expect(await ask(thief.publicKey, other, [approve(guardian, other)])).toMatchObject({ ok: false });
    // A request older than an approval may last is refused even with an approval.
    const old = request(thief, w.clock.now - 21 * 60_000);
    expect(await ask(thief.publicKey, old, [approve(guardian, old)])).toMatchObject({ ok: false, reason: 'stale' });
    expect(await ask(thief.publicKey, e, [approve(guardian, e)])).toMatchObject({ ok: true });
    // Each decision is in the node's request log.
    const log = unwrap('a', await node.handle('log', { from: 0 })) as unknown as { entries: LogEntry[] };
    expect(log.entries.filter((x) => x.kind === 'enrol').map((x) => x.outcome)).toEqual(['enrolled with 1 approvals']);
    expect(log.entries.filter((x) => x.kind === 'refuse' && x.subject.startsWith('enrol')).length).toBe(6);
  });

  it('a removed device key is refused for every call; removing another needs approvals, itself none', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    const ids = w.nodes.map((n) => n.nodeId);
    const laptop = new Coordinator(w.transport, member, VAULT, { now: () => w.clock.now });
    const file = { fileId: FILE_A, version: 1, point: put.point };
    expect(toHex((await laptop.open(group, laptop.newRequest(file))).kek)).toBe(toHex(put.kek));
    const reasons = (r: Awaited<ReturnType<Coordinator['removeDevice']>>): string[] =>
      r.failed.map((f) => (f.error as GuardRefusal).reason);
    // g = 0: a device that is no guardian removes another only with a guardian's approval.
    const byLaptop = await laptop.removeDevice(ids, laptop.newDeviceRemoval(guardian.publicKey));
    expect(byLaptop.done).toEqual([]);
    expect(reasons(byLaptop)).toEqual(['approvals', 'approvals', 'approvals']);
    // A guardian's key stays while it is a guardian (it leaves the guardians first).
    expect(reasons(await w.coordinator.removeDevice(ids, w.coordinator.newDeviceRemoval(owner.publicKey)))).toEqual([
      'malformed',
      'malformed',
      'malformed',
    ]);
    await w.coordinator.changePolicy(group, w.coordinator.newPolicyChange([owner.publicKey, guardian.publicKey], 1, 2));
    // g = 1: the owner removes the laptop with the other guardian's approval, its own counts not.
    const removal = w.coordinator.newDeviceRemoval(member.publicKey);
    const approve = (who: typeof owner, expiry = w.clock.now + 60_000) => ({
      guardianKey: who.publicKey,
      expiry,
      signature: who.sign(
        changeApprovalDigest(VAULT, removal.requestId, owner.publicKey, removalMessage(removal), expiry),
      ),
    });
    expect(reasons(await w.coordinator.removeDevice(ids, removal, [approve(owner)]))).toEqual([
      'approvals',
      'approvals',
      'approvals',
    ]);
    // An approval of the policy change's digest is no approval of a removal.
    const change = w.coordinator.newPolicyChange([owner.publicKey, guardian.publicKey], 1, 3);
    const notThis = Coordinator.approveChange(guardian, change, w.clock.now + 60_000);
    expect(reasons(await w.coordinator.removeDevice(ids, removal, [notThis]))).toEqual([
      'approvals',
      'approvals',
      'approvals',
    ]);
    const done = await w.coordinator.removeDevice(ids, removal, [approve(guardian)]);
    expect(done).toEqual({ done: ids.map((nodeId) => ({ nodeId, removed: true })), failed: [] });
    expect(reasons(await w.coordinator.removeDevice(ids, removal, [approve(guardian)]))).toEqual([
      'replayed',
      'replayed',
      'replayed',
    ]);
    // The laptop's key is refused for an opening, with approvals or not, and for a registration.
    const request = laptop.newRequest(file);
    const refused = await laptop
      .open(group, request, [Coordinator.approve(guardian, request, w.clock.now + 60_000)])
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(refused?.message).toMatch(/refused: a \(not-enrolled\), b \(not-enrolled\)/);
    await expect(laptop.register(group, FILE_B, 1)).rejects.toThrow();
    for (const n of w.nodes) {
      expect(n.enrolled.has(toHex(member.publicKey))).toBe(false);
      const log = unwrap(n.nodeId, await n.custodian.handle('log', { from: 0 })) as unknown as { entries: LogEntry[] };
      expect(log.entries.filter((x) => x.kind === 'remove').map((x) => [x.device, x.outcome])).toEqual([
        [toHex(owner.publicKey), 'removed with 1 approvals'],
      ]);
      expect(log.entries.filter((x) => x.kind === 'refuse' && x.subject.startsWith('remove')).length).toBe(5);
    }
    // Enrolled again (a new code, approved as any new device), it removes itself with no approval.
    for (const n of w.nodes) n.enrolled.add(toHex(member.publicKey));
    const itself = await laptop.removeDevice(ids, laptop.newDeviceRemoval(member.publicKey));
    expect(itself).toEqual({ done: ids.map((nodeId) => ({ nodeId, removed: true })), failed: [] });
  });

  it('a denial is no approval: a guardian signature over its digest does not open', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    await w.coordinator.changePolicy(group, w.coordinator.newPolicyChange([owner.publicKey, guardian.publicKey], 1, 2));
    const request = w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point });
    const denial = guardian.sign(denialDigest(VAULT, request.requestId, owner.publicKey));
    const asApproval = { guardianKey: guardian.publicKey, expiry: w.clock.now + 60_000, signature: denial };
    await expectRefusal(w.coordinator.open(group, request, [asApproval]), 'approvals');
    const opened = await w.coordinator.open(group, request, [
      Coordinator.approve(guardian, request, w.clock.now + 60_000),
    ]);
    expect(toHex(opened.kek)).toBe(toHex(put.kek));
  });

  it('refuses a policy naming a guardian twice: g = 2 of [K, K] could never be met', async () => {
    // Approvals count distinct guardians: such a policy locks every guarded file and every
    // later change of the policy for good (a ransom a stolen device could set while g = 0).
    const w = world();
    const group = await setUp(w);
    const twice = w.coordinator.newPolicyChange([guardian.publicKey, guardian.publicKey], 2, 2);
    await expectRefusal(w.coordinator.changePolicy(group, twice), 'malformed');
    // Nor can a re-sharing hand such a policy on (every node checks the session).
    expect(() =>
      w.coordinator.planReshare(group, ['a', 'b'], guardNodes(w.nodes), 2, {
        guardians: [owner.publicKey, owner.publicKey],
        approvals: 2,
        policyVersion: 1,
      }),
    ).toThrow(/policy is impossible/);
    // The policy in force still works: a change by the one guardian (g = 0) is taken.
    await w.coordinator.changePolicy(group, w.coordinator.newPolicyChange([owner.publicKey, guardian.publicKey], 1, 2));
  });

  it('with g = 0, a device that is no guardian cannot change the guard without a guardian', async () => {
    // "Any enrolled device" opens files; it must not also take the guard: a stolen device
    // (not a guardian) making itself the only guardian holds every opening to ransom, and one
    // re-sharing the key to nodes it runs learns s and retires the owner's shares.
    const w = world(['a', 'b', 'c', 'd']);
    const first = w.nodes.slice(0, 3);
    const group = await w.coordinator.run(w.coordinator.planSetup(guardNodes(first), 2), guardNodes(first));
    const other = new Coordinator(w.transport, guardian, VAULT, { now: () => w.clock.now });
    const takeover = other.newPolicyChange([guardian.publicKey], 1, 2);
    await expectRefusal(other.changePolicy(group, takeover), 'approvals');
    const policy = { guardians: FIRST.guardians, approvals: 0, policyVersion: 1 };
    const reshare = other.planReshare(group, ['a', 'b'], guardNodes(w.nodes), 2, policy);
    await expectRefusal(other.run(reshare, guardNodes(w.nodes)), 'approvals');
    // With the guardian's approval it may; the guardian itself needs none (g = 0).
    const approved = other.newPolicyChange([owner.publicKey, guardian.publicKey], 0, 2);
    await other.changePolicy(group, approved, [Coordinator.approveChange(owner, approved, w.clock.now + 60_000)]);
    const session = w.coordinator.planReshare(group, ['a', 'b'], guardNodes(w.nodes), 2, {
      ...policy,
      guardians: [owner.publicKey, guardian.publicKey],
      policyVersion: 2,
    });
    await w.coordinator.run(session, guardNodes(w.nodes));
  });

  it('a restarted custodian answers from its sealed store; another seal key cannot read it', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    const b = w.nodes[1]!;
    const enrolled = (key: Uint8Array): boolean => equalBytes(key, owner.publicKey);
    const restarted = new Custodian({
      store: b.store,
      identitySeed: b.seed,
      sealKey: b.sealKey,
      isEnrolled: enrolled,
      removeDevice: () => false,
      now: () => w.clock.now,
    });
    const byId = new Map(w.byId);
    byId.set('b', restarted);
    const coordinator = new Coordinator(localTransport(byId, new Set(['a'])), owner, VAULT, { now: () => w.clock.now });
    const opened = await coordinator.open(
      group,
      coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }),
    );
    expect(toHex(opened.kek)).toBe(toHex(put.kek));
    const wrongKey = new Custodian({
      store: b.store,
      identitySeed: b.seed,
      sealKey: new Uint8Array(32),
      isEnrolled: enrolled,
      removeDevice: () => false,
    });
    await expect(wrongKey.handle('info', {})).rejects.toThrow(/failed its check/);
  });

  it('answers a malformed body or an unknown method with a refusal, never a throw', async () => {
    const w = world();
    const c = w.byId.get('a')!;
    expect(await c.handle('partial', { nope: 1 })).toMatchObject({ ok: false, reason: 'malformed' });
    expect(await c.handle('shutdown', {})).toMatchObject({ ok: false, reason: 'malformed' });
    expect(await c.handle('partial', null)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(await c.handle('dkg-round2', { setupId: '00'.repeat(16), round1: [] })).toMatchObject({
      ok: false,
      reason: 'dkg',
    });
  });
});

describe('re-sharing keeps P', () => {
  it('adds a fourth node: same P, old files open from the new shares, any 2 of 4', async () => {
    const w = world(['a', 'b', 'c', 'd']);
    const first = w.nodes.slice(0, 3);
    const group = await w.coordinator.run(w.coordinator.planSetup(guardNodes(first), 2), guardNodes(first));
    const put = await w.coordinator.register(group, FILE_A, 1);
    // The policy asks for a guardian's approval: of the re-sharing, and of each opening.
    await w.coordinator.changePolicy(group, w.coordinator.newPolicyChange([owner.publicKey, guardian.publicKey], 1, 2));
    const policy = { guardians: [owner.publicKey, guardian.publicKey], approvals: 1, policyVersion: 2 };
    // A re-sharing that would hand the new node a weaker policy: the old nodes refuse it.
    const weaker = w.coordinator.planReshare(group, ['a', 'b'], guardNodes(w.nodes), 2, FIRST);
    const weakerApproval = Coordinator.approveSession(guardian, weaker, w.clock.now + 60_000);
    await expectRefusal(w.coordinator.run(weaker, guardNodes(w.nodes), [weakerApproval]), 'dkg');
    const session = w.coordinator.planReshare(group, ['a', 'b'], guardNodes(w.nodes), 2, policy);
    await expectRefusal(w.coordinator.run(session, guardNodes(w.nodes)), 'approvals');
    const again = w.coordinator.planReshare(group, ['a', 'b'], guardNodes(w.nodes), 2, policy);
    const approval = Coordinator.approveSession(guardian, again, w.clock.now + 60_000);
    const group2 = await w.coordinator.run(again, guardNodes(w.nodes), [approval]);
    expect(await w.coordinator.commit(again.setupId, ['a', 'b', 'c', 'd'])).toEqual({
      done: ['a', 'b', 'c', 'd'],
      failed: [],
      refused: [],
    });
    expect(toHex(group2.groupKey)).toBe(toHex(group.groupKey));
    expect(group2.members.map((m) => m.nodeId)).toEqual(['a', 'b', 'c', 'd']);
    // The app registers the files put before with the node that joined.
    const file = { fileId: FILE_A, version: 1, point: put.point };
    expect(await w.coordinator.registerPoint(group2, file)).toEqual([]);
    w.down.add('a');
    w.down.add('b');
    // d took the policy too: without the guardian's approval, c and d say no.
    await expectRefusal(w.coordinator.open(group2, w.coordinator.newRequest(file)), 'approvals');
    const request = w.coordinator.newRequest(file);
    const opened = await w.coordinator.open(group2, request, [
      Coordinator.approve(guardian, request, w.clock.now + 60_000),
    ]);
    expect(toHex(opened.kek)).toBe(toHex(put.kek));
    expect([...opened.used].sort()).toEqual(['c', 'd']);
    // The new stored shares interpolate to P.
    const shares = w.nodes.map((n) => storedShare(n)!);
    const pick = [shares[1]!, shares[3]!];
    const idx = pick.map((s) => s.index);
    const secret = pick.reduce((acc, s) => scalarAdd(acc, scalarMul(lagrangeAtZero(idx, s.index), s.share)), 0n);
    expect(toHex(encodePoint(mulBase(secret)))).toBe(toHex(group.groupKey));
  });

  it('removes a node: it deals, then retires its share once the new set confirmed', async () => {
    const w = world(['a', 'b', 'c', 'd']);
    const first = w.nodes.slice(0, 3);
    const group = await w.coordinator.run(w.coordinator.planSetup(guardNodes(first), 2), guardNodes(first));
    const session = w.coordinator.planReshare(group, ['a', 'c'], guardNodes(w.nodes.slice(1)), 2, FIRST);
    const group2 = await w.coordinator.run(session, guardNodes(w.nodes));
    expect(toHex(group2.groupKey)).toBe(toHex(group.groupKey));
    // Staged only: a keeps its share until the app commits the new set.
    expect(storedShare(w.nodes[0]!)).toBeDefined();
    expect((await w.coordinator.commit(session.setupId, ['a', 'b', 'c', 'd'])).failed).toEqual([]);
    expect(storedShare(w.nodes[0]!)).toBeUndefined();
    // Asked again, the commit answers the same (the app may repeat it after a crash).
    expect((await w.coordinator.commit(session.setupId, ['a', 'b'])).failed).toEqual([]);
    const put = await w.coordinator.register(group2, FILE_A, 1);
    w.down.add('a');
    const opened = await w.coordinator.open(
      group2,
      w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }),
    );
    expect(toHex(opened.kek)).toBe(toHex(put.kek));
  });

  it('a re-sharing cut short before its commit leaves the old set working, untouched', async () => {
    const w = world(['a', 'b', 'c', 'd']);
    const first = w.nodes.slice(0, 3);
    const group = await w.coordinator.run(w.coordinator.planSetup(guardNodes(first), 2), guardNodes(first));
    const put = await w.coordinator.register(group, FILE_A, 1);
    const before = first.map((n) => storedShare(n)!.share);
    const session = w.coordinator.planReshare(group, ['a', 'b', 'c'], guardNodes(w.nodes), 2, FIRST);
    const group2 = await w.coordinator.run(session, guardNodes(w.nodes));
    // The app "crashed" here: no commit. Every old node still holds and uses its old share.
    expect(first.map((n) => storedShare(n)!.share)).toEqual(before);
    expect(storedShare(w.nodes[3]!)).toBeUndefined();
    const file = { fileId: FILE_A, version: 1, point: put.point };
    for (const down of ['a', 'b', 'c']) {
      w.down.clear();
      w.down.add(down);
      const opened = await w.coordinator.open(group, w.coordinator.newRequest(file));
      expect(toHex(opened.kek)).toBe(toHex(put.kek));
    }
    w.down.clear();
    // A commit of a session never staged is refused; the real one switches every node.
    expect(await w.byId.get('a')!.handle('dkg-commit', { setupId: 'ab'.repeat(16) })).toMatchObject({
      ok: false,
      reason: 'dkg',
    });
    expect((await w.coordinator.commit(session.setupId, ['a', 'b', 'c', 'd'])).failed).toEqual([]);
    expect(first.map((n) => storedShare(n)!.share)).not.toEqual(before);
    expect(await w.coordinator.registerPoint(group2, file, ['d'])).toEqual([]);
    w.down.add('a');
    w.down.add('b');
    const opened = await w.coordinator.open(group2, w.coordinator.newRequest(file));
    expect(toHex(opened.kek)).toBe(toHex(put.kek));
    // The old group's record no longer opens: its shares are gone.
    w.down.clear();
    await expect(w.coordinator.open(group, w.coordinator.newRequest(file))).rejects.toThrow(/lying/);
  });

  it('two re-sharings at once: each node stages both, the one committed works, the other is dropped', async () => {
    const w = world(['a', 'b', 'c', 'd']);
    const first = w.nodes.slice(0, 3);
    const group = await w.coordinator.run(w.coordinator.planSetup(guardNodes(first), 2), guardNodes(first));
    const put = await w.coordinator.register(group, FILE_A, 1);
    // Two devices plan from the same head: one takes d in, the other drops c. Both finish
    // (staged) before either commits; the nodes they share staged both.
    const adding = w.coordinator.planReshare(group, ['a', 'b'], guardNodes(w.nodes), 2, FIRST);
    const dropping = w.coordinator.planReshare(group, ['a', 'b'], guardNodes(w.nodes.slice(0, 2)), 2, FIRST);
    const [added] = await Promise.all([
      w.coordinator.run(adding, guardNodes(w.nodes)),
      w.coordinator.run(dropping, guardNodes(first)),
    ]);
    // The head took the adding one (the other device found it changed and stood down): its
    // commit succeeds at every node, whichever session a node staged last.
    expect(await w.coordinator.commit(adding.setupId, ['a', 'b', 'c', 'd'])).toEqual({
      done: ['a', 'b', 'c', 'd'],
      failed: [],
      refused: [],
    });
    // The other is gone from the nodes now: its commit cannot switch anyone to a stale share.
    expect((await w.coordinator.commit(dropping.setupId, ['a', 'b', 'c'])).refused).toEqual(['a', 'b', 'c']);
    const file = { fileId: FILE_A, version: 1, point: put.point };
    expect(await w.coordinator.registerPoint(added, file, ['d'])).toEqual([]);
    w.down.add('a');
    w.down.add('b');
    const opened = await w.coordinator.open(added, w.coordinator.newRequest(file));
    expect(toHex(opened.kek)).toBe(toHex(put.kek));
    expect([...opened.used].sort()).toEqual(['c', 'd']);
  });

  it('the app records a re-sharing only over the guard it planned from (sameGuard)', () => {
    const share = (n: number): Uint8Array => encodePoint(mulBase(BigInt(n)));
    const planned: HeadGuard = {
      epoch: 1,
      threshold: 2,
      groupKey: share(7),
      commitments: [share(7), share(8)],
      approvals: 0,
      guardians: [owner.publicKey],
      policyVersion: 1,
      members: [1, 2, 3].map((i) => ({
        location: `l${i}`,
        index: i,
        publicShare: share(i),
        identityKey: share(10 + i),
        pin: `SHA256:${'A'.repeat(43)}`,
      })),
    };
    expect(sameGuard(planned, { ...planned })).toBe(true);
    // Another device's re-sharing won: other shares, another set, a pending commit, a new policy.
    const m = planned.members;
    expect(sameGuard(planned, { ...planned, members: [m[0]!, m[1]!, { ...m[2]!, publicShare: share(9) }] })).toBe(
      false,
    );
    expect(sameGuard(planned, { ...planned, members: m.slice(0, 2) })).toBe(false);
    expect(
      sameGuard(planned, { ...planned, reshare: { setupId: 'ab'.repeat(16), commit: ['l1'], register: [] } }),
    ).toBe(false);
    expect(sameGuard(planned, { ...planned, policyVersion: 2 })).toBe(false);
    expect(sameGuard(planned, undefined)).toBe(false);
    // A repair plans from a head recording a stuck re-sharing: it must still be that one.
    const stuck = { setupId: 'cd'.repeat(16), commit: ['l3'], register: [] };
    expect(sameGuard({ ...planned, reshare: stuck }, { ...planned, reshare: { ...stuck } })).toBe(true);
    expect(sameGuard({ ...planned, reshare: stuck }, { ...planned, reshare: { ...stuck, commit: [] } })).toBe(false);
    expect(sameGuard({ ...planned, reshare: stuck }, { ...planned })).toBe(false);
  });

  it('a re-sharing cut short is not committed after the policy changed: no rollback of g', async () => {
    // A staged, never committed re-sharing lingers on the nodes; dkg-commit names only its id.
    // Sent later by any enrolled device (a stolen one), it must not put back the policy the
    // nodes held when it was staged, after the owner raised g.
    const w = world(['a', 'b', 'c', 'd']);
    const first = w.nodes.slice(0, 3);
    const group = await w.coordinator.run(w.coordinator.planSetup(guardNodes(first), 2), guardNodes(first));
    const put = await w.coordinator.register(group, FILE_A, 1);
    const session = w.coordinator.planReshare(group, ['a', 'b', 'c'], guardNodes(w.nodes), 2, FIRST);
    await w.coordinator.run(session, guardNodes(w.nodes));
    await w.coordinator.changePolicy(group, w.coordinator.newPolicyChange([owner.publicKey, guardian.publicKey], 1, 2));
    const late = await w.coordinator.commit(session.setupId, ['a', 'b', 'c']);
    expect(late).toEqual({ done: [], failed: ['a', 'b', 'c'], refused: ['a', 'b', 'c'] });
    const file = { fileId: FILE_A, version: 1, point: put.point };
    await expectRefusal(w.coordinator.open(group, w.coordinator.newRequest(file)), 'approvals');
    const request = w.coordinator.newRequest(file);
    const opened = await w.coordinator.open(group, request, [
      Coordinator.approve(guardian, request, w.clock.now + 60_000),
    ]);
    expect(toHex(opened.kek)).toBe(toHex(put.kek));
  });

  it('a node refuses a re-sharing that gives it another public share than it holds', async () => {
    const w = world(['a', 'b', 'c', 'd']);
    const first = w.nodes.slice(0, 3);
    const group = await w.coordinator.run(w.coordinator.planSetup(guardNodes(first), 2), guardNodes(first));
    // The app's record of b's public share is swapped: b refuses to deal from it.
    const session = w.coordinator.planReshare(group, ['a', 'b'], guardNodes(w.nodes), 2, FIRST);
    const forged: DkgSession = {
      ...session,
      previous: {
        ...session.previous!,
        publicShares: session.previous!.publicShares.map((p) =>
          p.index === 2 ? { index: 2, publicShare: encodePoint(mulBase(randomScalar())) } : p,
        ),
      },
    };
    await expectRefusal(w.coordinator.run(forged, guardNodes(w.nodes)), 'dkg');
    expect(storedShare(w.nodes[1]!)).toBeDefined();
  });
});

describe('the request log', () => {
  it('chains every decision and shows a rewrite', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    await w.coordinator.open(group, w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }));
    await w.coordinator
      .open(group, w.coordinator.newRequest({ fileId: FILE_A, version: 2, point: put.point }))
      .catch(() => undefined);
    const answer = await w.byId.get('a')!.handle('log', { from: 0 });
    if (!answer.ok) throw new Error(answer.message);
    const entries = (answer.value as unknown as { entries: LogEntry[] }).entries;
    expect(entries.map((e) => e.kind)).toEqual(['setup', 'register', 'open', 'refuse']);
    expect(entries[3]!.outcome).toMatch(/not registered/);
    expect(verifyChain(entries, GENESIS)).toBe(true);
    const rewritten = entries.map((e, i) => (i === 2 ? { ...e, device: toHex(stranger.publicKey) } : e));
    expect(verifyChain(rewritten, GENESIS)).toBe(false);
    expect(verifyChain(entries.slice(1), GENESIS)).toBe(false);
    expect(verifyChain(entries.slice(2), fromHex(entries[1]!.hash, 'hash', 32))).toBe(true);
  });
});

describe('more hostile inputs', () => {
  it('a re-sharing dealer that deals another constant than its weighted share is named', async () => {
    const w = world(['a', 'b', 'c', 'd']);
    const first = w.nodes.slice(0, 3);
    const group = await w.coordinator.run(w.coordinator.planSetup(guardNodes(first), 2), guardNodes(first));
    const liar = w.nodes[0]!;
    const fake = newDealing(2); // a random constant instead of λ_a·s_a, consistently from round 1 on
    let session: DkgSession | undefined;
    const transport = hostile(w.transport, (nodeId, method, answer, body) => {
      if (nodeId !== 'a' || !answer.ok) return answer;
      if (method === 'dkg-round1') {
        session = readSessionFrom(body);
        const v = answer.value as Record<string, string>;
        const fields = {
          encryptionKey: fromBase64(v.encryptionKey!, 'k', 32),
          commitmentHash: commitmentHash(fake.commitments.map(encodePoint)),
        };
        const signature = ed25519Sign(liar.seed, round1Message(sessionHash(session), fields));
        return { ok: true, value: { ...v, commitmentHash: b64(fields.commitmentHash), signature: b64(signature) } };
      }
      if (method === 'dkg-round2') {
        const r = new WireReader('test');
        const round1 = (body as { round1: unknown[] }).round1.map((m, i) => readRound1(r, m, `round1[${i}]`));
        const byKey = new Map(round1.map((m) => [toHex(m.identityKey), m]));
        const dealt = { identityKey: liar.custodian.identityKey, ...dealRound2(session!, 1, fake, byKey) };
        const signature = ed25519Sign(liar.seed, round2Message(sessionHash(session!), dealt));
        return { ok: true, value: round2ToJson({ ...dealt, signature }) };
      }
      return answer;
    });
    const coordinator = new Coordinator(transport, owner, VAULT, { now: () => w.clock.now });
    const error = await coordinator
      .run(coordinator.planReshare(group, ['a', 'b'], guardNodes(w.nodes), 2, FIRST), guardNodes(w.nodes))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardFault);
    expect((error as GuardFault).culprit).toBe('a');
    expect((error as Error).message).toMatch(/another constant/);
    // Nobody replaced its share: the old group still opens.
    const put = await w.coordinator.register(group, FILE_A, 1);
    const opened = await w.coordinator.open(
      group,
      w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point }),
    );
    expect(toHex(opened.kek)).toBe(toHex(put.kek));
  });

  it('two simultaneous copies of one request: one answered, one refused as replayed', async () => {
    const w = world();
    const group = await setUp(w);
    const put = await w.coordinator.register(group, FILE_A, 1);
    const body = {
      request: requestToJson(w.coordinator.newRequest({ fileId: FILE_A, version: 1, point: put.point })),
      approvals: [],
    };
    const answers = await Promise.all([
      w.byId.get('a')!.handle('partial', body),
      w.byId.get('a')!.handle('partial', body),
    ]);
    expect(answers.filter((a) => a.ok)).toHaveLength(1);
    expect(answers.filter((a) => !a.ok && a.reason === 'replayed')).toHaveLength(1);
  });

  it('bounds what it reads: too many messages, long strings, wrong lengths are malformed', async () => {
    const w = world();
    const c = w.byId.get('a')!;
    const many = Array.from({ length: 1000 }, () => ({}));
    expect(await c.handle('dkg-round2', { setupId: '00'.repeat(16), round1: many })).toMatchObject({
      reason: 'malformed',
    });
    const put = { fileId: FILE_A, version: 1, point: encodePoint(mulBase(5n)) };
    const request = requestToJson(w.coordinator.newRequest(put)) as Record<string, Json>;
    expect(
      await c.handle('partial', { request: { ...request, point: 'A'.repeat(100_000) }, approvals: [] }),
    ).toMatchObject({
      reason: 'malformed',
    });
    expect(
      await c.handle('partial', { request: { ...request, nonce: b64(new Uint8Array(15)) }, approvals: [] }),
    ).toMatchObject({
      reason: 'malformed',
    });
    expect(await c.handle('partial', { request: { ...request, extra: 1 }, approvals: [] })).toMatchObject({
      reason: 'malformed',
    });
    // The identity as a file's point.
    const identity = { ...request, point: b64(new Uint8Array(32)) };
    expect(await c.handle('partial', { request: identity, approvals: [] })).toMatchObject({ ok: false });
  });
});

describe('the KEK and a custodian under random input', () => {
  it('derives the KEK exactly as docs/GUARD.md writes it, and Lagrange in the exponent recovers r·P', () => {
    const s = randomScalar();
    const P = mulBase(s);
    const r = randomScalar();
    const R = mulBase(r);
    const file = { vaultId: VAULT, fileId: FILE_A, version: 7, point: encodePoint(R) };
    const group = { groupKey: encodePoint(P), epoch: 3 };
    // Independently: HKDF-SHA256 from node:crypto over the documented bytes.
    const info = Buffer.concat([
      Buffer.from('shardvault/v1/guard'),
      Buffer.from(FILE_A, 'hex'),
      Buffer.from([0, 0, 0, 7]),
      encodePoint(R),
      encodePoint(P),
      Buffer.from([0, 0, 0, 3]),
    ]);
    const expected = hkdfSync('sha256', encodePoint(mul(P, r)), Buffer.from(VAULT, 'hex'), info, 32);
    expect(toHex(deriveKek(mul(P, r), file, group))).toBe(Buffer.from(expected).toString('hex'));
    // Shares of s on a degree-2 polynomial: any 3 partials s_i·R combine to s·R = r·P.
    const a1 = randomScalar();
    const a2 = randomScalar();
    const share = (i: bigint): bigint => scalarAdd(s, scalarAdd(scalarMul(a1, i), scalarMul(a2, scalarMul(i, i))));
    const partials = [1, 3, 4].map((index) => ({ index, partial: mul(R, share(BigInt(index))) }));
    expect(combinePartials(partials).equals(mul(P, r))).toBe(true);
    expect(combinePartials(partials.slice(0, 2)).equals(mul(P, r))).toBe(false);
  });

  it('property: a custodian answers any JSON with an envelope, never a rejection', async () => {
    const w = world();
    await setUp(w);
    const c = w.byId.get('a')!;
    const methods = [...GUARD_METHODS, 'x'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...methods), fc.jsonValue(), async (method, body) => {
        const answer = await c.handle(method, body);
        expect(typeof answer.ok).toBe('boolean');
        if (!answer.ok) expect(REFUSAL_REASONS).toContain(answer.reason);
      }),
      { numRuns: 200 },
    );
  });
});
