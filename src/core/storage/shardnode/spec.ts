/**
 * A node's SPEC, written by the node (`node serve` prints it) and read by the `node` kind:
 *
 *   node+https://HOST:PORT/?fingerprint=SHA256:B64[&enrol=CODE][#NAME]
 *
 * Read by hand, as url.ts reads the others: the fingerprint is base64 ('+', '/'), which
 * form decoding would change. No user, no password, no other path, no other parameter.
 */
import { UsageError } from '../../errors';
import { specHost } from '../kinds/kind';
import { splitName } from '../kinds/name';
import { HOSTNAME } from '../url';
import { ENROL_CODE, NODE_FINGERPRINT, NODE_SCHEME } from './protocol';

export interface NodeAddress {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  readonly fingerprint: string;
}

const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/** The SPEC for a node; with an enrolment code until one device enrolled. */
export function nodeSpec(host: string, port: number, fingerprint: string, enrol: string | null): string {
  return `${NODE_SCHEME}://${specHost(host)}:${port}/?fingerprint=${fingerprint}${enrol === null ? '' : `&enrol=${enrol}`}`;
}

/** How a node is shown: where it is, nothing else. */
export const displayNode = (a: NodeAddress): string => `${NODE_SCHEME}://${specHost(a.host)}:${a.port}`;

/** What the profile keeps: the address and its pin (the enrolment code is sealed apart). */
export const storedNodeSpec = (a: NodeAddress): string => nodeSpec(a.host, a.port, a.fingerprint, null);

/** Reads a node SPEC (a #NAME included); UsageError says what is wrong. */
export function parseNodeSpec(spec: string): { name: string | null; address: NodeAddress; enrol: string | null } {
  const { body, name } = splitName(spec);
  const fail = (why: string): never => {
    throw new UsageError(
      `bad node location: ${why} (it looks like ${NODE_SCHEME}://HOST:PORT/?fingerprint=SHA256:...)`,
    );
  };
  if (/[\s\p{Cc}]/u.test(body)) fail('it contains spaces or control characters');
  const prefix = `${NODE_SCHEME}://`;
  if (body.slice(0, prefix.length).toLowerCase() !== prefix) fail(`it starts with ${prefix}`);
  const rest = body.slice(prefix.length);
  const q = rest.indexOf('?');
  const beforeQuery = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  const slash = beforeQuery.indexOf('/');
  const authority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash < 0 ? '' : beforeQuery.slice(slash);
  if (path !== '' && path !== '/') fail('a node has no path');
  if (authority.includes('@')) fail('a node has no user or password');
  let host: string;
  let portText: string;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) fail('unclosed [ in the host');
    host = authority.slice(1, end);
    if (!IPV6.test(host) || !host.includes(':')) fail('bad IPv6 address');
    if (authority[end + 1] !== ':') fail('the port is missing');
    portText = authority.slice(end + 2);
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon < 0) fail('the port is missing');
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
    if (!HOSTNAME.test(host)) fail('bad host name');
  }
  if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) fail('bad port');
  const params = new Map<string, string>();
  for (const pair of query === '' ? [] : query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key !== 'fingerprint' && key !== 'enrol') fail(`unknown parameter ${JSON.stringify(key.slice(0, 32))}`);
    if (params.has(key)) fail(`${key} given twice`);
    params.set(key, eq < 0 ? '' : pair.slice(eq + 1));
  }
  const fingerprint = params.get('fingerprint');
  if (fingerprint === undefined) fail('the fingerprint is missing (the node prints it in its first line)');
  if (!NODE_FINGERPRINT.test(fingerprint!)) fail('fingerprint must be SHA256:<43 base64 characters>');
  const enrol = params.get('enrol') ?? null;
  if (enrol !== null && !ENROL_CODE.test(enrol)) fail('the enrolment code is 32 lowercase hex digits');
  return { name, address: { host: host!, port: Number(portText!), fingerprint: fingerprint! }, enrol };
}
