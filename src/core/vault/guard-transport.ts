/**
 * The app's side of the guard contract (docs/GUARD.md): each call goes to the node location's
 * pinned, device-signed client as POST /v1/guard/<method>, and the node's envelope comes back
 * as it is (the Coordinator checks it with `unwrap`). A node that cannot be reached, or answers
 * outside the protocol, rejects; the Coordinator routes around it. A node server that refuses
 * the device itself (403: not enrolled there, or removed by `guard device remove`) answers as a
 * custodian's `not-enrolled` refusal, so the user reads "refused", not "unreachable".
 */
import { OfflineError, ShardvaultError } from '../errors';
import type { GuardResponse, GuardTransport } from '../guard/transport';

/** What the transport needs of a node location's client (ShardNodeClient.guard). */
export interface GuardClient {
  guard(method: string, body: unknown): Promise<unknown>;
}

export function nodeGuardTransport(client: (nodeId: string) => GuardClient | undefined): GuardTransport {
  return {
    async call(nodeId, method, body) {
      const c = client(nodeId);
      if (c === undefined) throw new OfflineError(`${nodeId}: no such node location on this device`);
      try {
        return (await c.guard(method, body)) as GuardResponse;
      } catch (err) {
        if (err instanceof ShardvaultError && err.code === 'permission' && / not enrolled /.test(err.message))
          return { ok: false, reason: 'not-enrolled', message: err.message };
        throw err;
      }
    },
  };
}
