/**
 * The node kind: a Shardvault node (`shardvault node serve`) on a machine the user controls,
 * reached over HTTPS pinned by its certificate's key, each request signed by this device
 * (docs/NODE.md). Adding one makes this device's Ed25519 key and keeps the node's single-use
 * enrolment code beside it, both sealed in the profile; the first request enrols the device.
 */
import { generateKeyPairSync } from 'node:crypto';
import { UsageError } from '../../errors';
import { seedOf } from '../shardnode/protocol';
import { displayNode, parseNodeSpec, storedNodeSpec, type NodeAddress } from '../shardnode/spec';
import { type LocationKind, nameSuffix, remoteNode, required, resilient } from './kind';

const addressOf = (spec: string): NodeAddress => parseNodeSpec(spec).address;

export const node = {
  name: 'node',
  schemes: ['node+https'],
  capabilities: { createRoot: 'never', pinsHostKey: false },
  conformance: ['test/conformance/node.test.ts'],
  parse(spec) {
    const { name, address, enrol } = parseNodeSpec(spec);
    // A SPEC with a code is a node to enrol at: this device's key is made now, sealed beside
    // the code. The stored spec (no code) reads back with no secrets, as the head carries it.
    const secrets =
      enrol === null ? null : { deviceKey: seedOf(generateKeyPairSync('ed25519').privateKey), enrolCode: enrol };
    return { name, spec: storedNodeSpec(address), secrets, display: displayNode(address) };
  },
  fromFields(fields, name) {
    const address = required(fields, 'address', 'Node address');
    if (name !== null && address.includes('#')) throw new UsageError('Node address: give the name in its own field');
    return this.parse(`${address}${nameSuffix(name)}`);
  },
  display: (spec) => displayNode(addressOf(spec)),
  // A device that learned the node from the head has no key the node knows.
  needsCredentials: () => true,
  signInAddress(spec) {
    const a = addressOf(spec);
    return { user: null, host: a.host, port: a.port, path: '', keyFile: null, hostKey: a.fingerprint };
  },
  signInBy: (name) =>
    `a node enrols each device with a code: on the node's machine run \`shardvault node new-code --dir DIR\`, ` +
    `then here \`shardvault location edit ${name} SPEC\` with the line it prints`,
  open(spec, secrets) {
    const address = addressOf(spec);
    const deviceKey = secrets?.deviceKey;
    if (!deviceKey) throw new UsageError(`${displayNode(address)}: this device has no key enrolled at the node`);
    return remoteNode('node', displayNode(address), resilient, async () => {
      const { ShardNodeClient } = await import('../shardnode/client');
      return new ShardNodeClient({ address, deviceKey, enrolCode: secrets?.enrolCode ?? null, timeoutMs: 15_000 });
    });
  },
  compose: resilient,
} satisfies LocationKind;
