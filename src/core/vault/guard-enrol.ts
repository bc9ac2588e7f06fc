/**
 * A new device's enrolment at a node of the guard (docs/GUARD.md, "Enrolment"). With g = 0 a
 * node takes any device that shows its enrolment code, as ever. With g >= 1 a node of the
 * guard also wants g guardians' approval of the device key: the device signs an enrolment
 * request with that key, publishes it for the guardians like any access request (`requests`
 * shows "enrol device …", `approve ID` signs it), waits for their approvals and enrols with
 * them. So a thief with the passphrase and a new machine (even with a code the node printed)
 * cannot make its own key one the nodes answer.
 */
import { randomBytes } from 'node:crypto';
import { ShardvaultError } from '../errors';
import { deviceSigner } from '../guard/coordinator';
import { enrolMessage, type EnrolRequest } from '../guard/request';
import { approvalToJson, enrolRequestToJson } from '../guard/wire';
import type { LocationSecrets } from '../storage/open';
import { EnrolmentApprovalError, ShardNodeClient } from '../storage/shardnode/client';
import { parseNodeSpec } from '../storage/shardnode/spec';
import type { ApprovalWait } from './guard';
import { approvedEnrolment, waitForChangeApprovals } from './guard-requests';
import type { Vault } from './vault';

/** What the enrolment came to: `approvals` > 0 when the guardians had to approve it. */
export interface Enrolment {
  readonly enrolled: boolean;
  readonly approvals: number;
}

/**
 * Enrols this device's key (secrets.deviceKey) at the node `spec` with its code, asking the
 * guardians first when the node wants their approval. Does nothing for a node that knows the
 * device already, or without a code. Throws code `approval` (exit 7) when the approvals do not
 * come within `waiting.wait` seconds (at most 600: an approval lasts 15 minutes) or are denied.
 */
export async function enrolAtNode(
  vault: Vault,
  spec: string,
  secrets: LocationSecrets | null | undefined,
  name: string,
  waiting: ApprovalWait = {},
): Promise<Enrolment> {
  const code = secrets?.enrolCode;
  const seed = secrets?.deviceKey;
  if (!code || !seed) return { enrolled: false, approvals: 0 };
  const { address } = parseNodeSpec(spec);
  const client = new ShardNodeClient({ address, deviceKey: seed, enrolCode: null, timeoutMs: 15_000 });
  try {
    if (await client.knowsThisDevice()) return { enrolled: false, approvals: 0 };
    try {
      await client.enrol(code);
      return { enrolled: true, approvals: 0 };
    } catch (err) {
      if (!(err instanceof EnrolmentApprovalError)) throw err;
    }
    const device = deviceSigner(new Uint8Array(Buffer.from(seed, 'base64url')));
    // Approved already for another node of the guard (one approval covers them all)?
    const earlier = await approvedEnrolment(vault, device.publicKey);
    if (earlier !== null) {
      try {
        await client.enrol(code, {
          request: enrolRequestToJson(earlier.request),
          approvals: earlier.approvals.map(approvalToJson),
        });
        return { enrolled: true, approvals: earlier.approvals.length };
      } catch (err) {
        if (!(err instanceof EnrolmentApprovalError)) throw err; // else: ask the guardians again
      }
    }
    const fields = {
      vaultId: vault.vaultId,
      requestId: randomBytes(16).toString('hex'),
      time: Date.now(),
      deviceKey: device.publicKey,
    };
    const request: EnrolRequest = { ...fields, signature: device.sign(enrolMessage(fields)) };
    const approvals = await waitForChangeApprovals(
      vault,
      { kind: 'enrol', enrol: request },
      `enrolment of this device at ${name}`,
      waiting,
    );
    try {
      await client.enrol(code, { request: enrolRequestToJson(request), approvals: approvals.map(approvalToJson) });
    } catch (err) {
      if (err instanceof EnrolmentApprovalError)
        throw new ShardvaultError('approval', `${name} did not take the guardians' approvals: ${err.message}`);
      throw err;
    }
    return { enrolled: true, approvals: approvals.length };
  } finally {
    await client.close();
  }
}
