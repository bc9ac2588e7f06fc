// The dashboard's node health (src/core/vault/guard-status.ts, judgeInfo): three real
// Custodians in process, a real DKG (G = 2) run by the app's Coordinator, and the sealed
// head's guard record made from it as `guard setup` makes it. Each node's `info` answer, sent
// through JSON, is verified against P_i computed from the commitments; a node that answers
// with another share, another identity key, another epoch or index, or outside the protocol
// is "does not match" with the reason, never verified on its word.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/crypto/bytes';
import { Coordinator, deviceSigner } from '../src/core/guard/coordinator';
import { Custodian, type GuardStore } from '../src/core/guard/custodian';
import { localTransport, unwrap, type GuardTransport } from '../src/core/guard/transport';
import type { HeadGuard } from '../src/core/format/head';
import { judgeInfo } from '../src/core/vault/guard-status';

const VAULT = 'b2'.repeat(16);

function memoryStore(): GuardStore {
  const objects = new Map<string, Uint8Array>();
  return {
    read: (name) => Promise.resolve(objects.get(name)),
    write: (name, bytes) => {
      objects.set(name, new Uint8Array(bytes));
      return Promise.resolve();
    },
  };
}

/** Three custodians with a guard set up over them, and the head's record of it. */
async function guarded(): Promise<{ transport: GuardTransport; guard: HeadGuard }> {
  const device = deviceSigner(new Uint8Array(randomBytes(32)));
  const custodians = new Map(
    ['n1', 'n2', 'n3'].map((id) => [
      id,
      new Custodian({
        store: memoryStore(),
        identitySeed: new Uint8Array(randomBytes(32)),
        sealKey: new Uint8Array(randomBytes(32)),
        isEnrolled: (key) => toHex(key) === toHex(device.publicKey),
        removeDevice: () => false,
      }),
    ]),
  );
  const transport = localTransport(custodians);
  const coordinator = new Coordinator(transport, device, VAULT);
  const nodes = [...custodians].map(([nodeId, c]) => ({ nodeId, identityKey: c.identityKey }));
  const group = await coordinator.run(coordinator.planSetup(nodes, 2), nodes);
  const guard: HeadGuard = {
    epoch: group.epoch,
    threshold: 2,
    groupKey: group.groupKey,
    commitments: group.commitments,
    approvals: 0,
    guardians: [device.publicKey],
    policyVersion: 1,
    members: group.members.map((m) => ({
      location: m.nodeId,
      index: m.index,
      publicShare: m.publicShare,
      identityKey: m.identityKey,
      pin: `SHA256:${'A'.repeat(43)}`,
    })),
  };
  return { transport, guard };
}

const info = async (transport: GuardTransport, id: string): Promise<Record<string, unknown>> =>
  unwrap(id, await transport.call(id, 'info', {})) as Record<string, unknown>;

describe("the dashboard's node health", () => {
  it('verifies each honest node against P_i from the commitments, with its log length', async () => {
    const { transport, guard } = await guarded();
    for (const m of guard.members) {
      const health = judgeInfo(await info(transport, m.location), VAULT, guard, m);
      expect(health).toMatchObject({ index: m.index, shareVerified: true, problem: null });
      expect(health.logLength).toBeGreaterThanOrEqual(1); // the setup is in its log
    }
  });

  it("refuses a node's word: another share, identity, epoch, index, vault or a malformed answer", async () => {
    const { transport, guard } = await guarded();
    const [a, b] = guard.members;
    const honest = await info(transport, a!.location);
    const other = await info(transport, b!.location);
    const judged = (change: Record<string, unknown>) => judgeInfo({ ...honest, ...change }, VAULT, guard, a);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ publicShare: other.publicShare }, /does not match the guard's commitments/],
      [{ identityKey: other.identityKey }, /another identity key/],
      [{ epoch: guard.epoch + 1 }, /holds share \d+ of epoch \d+, not/],
      [{ index: b!.index }, /holds share \d+ of epoch/],
      [{ index: 'x'.repeat(5000) }, /outside the protocol/],
      [{ vaultId: 'c3'.repeat(16) }, /another vault/],
      [{ publicShare: null, index: null, epoch: null }, /holds share none of epoch none/],
      [{ publicShare: 'AAAA' }, /outside the protocol/],
    ];
    for (const [change, why] of cases) {
      const health = judged(change);
      expect(health.shareVerified, JSON.stringify(change).slice(0, 80)).toBe(false);
      expect(health.problem).toMatch(why);
      expect(health.problem!.length).toBeLessThanOrEqual(300);
    }
    // The head's own P_i must match the commitments too (a head is sealed, but checked here anyway).
    const tampered = { ...a!, publicShare: new Uint8Array(b!.publicShare) };
    expect(judgeInfo(honest, VAULT, guard, tampered).shareVerified).toBe(false);
    // An answer that is not an info record at all: nothing verified, and said so.
    expect(judgeInfo({ hello: 1 }, VAULT, guard, a)).toMatchObject({ shareVerified: null, logLength: null });
  });

  it('a node outside the guard (or no guard yet) shows its log, no verdict on a share', async () => {
    const { transport, guard } = await guarded();
    const answer = await info(transport, 'n1');
    expect(judgeInfo(answer, VAULT, undefined, undefined)).toMatchObject({
      index: null,
      shareVerified: null,
      problem: null,
    });
    expect(judgeInfo(answer, VAULT, guard, undefined).logLength).toBeGreaterThanOrEqual(1);
  });
});
