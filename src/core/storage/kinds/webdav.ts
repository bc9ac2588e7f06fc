/** The WebDAV kind: a collection on a WebDAV server (Nextcloud, Apache, rclone serve). */
import * as nodePath from 'node:path';
import { UsageError } from '../../errors';
import { displayWebDav, INSECURE_HTTP, plainHttpPasswordHost, plainHttpRefusal } from '../url';
import type { WebDavOptions } from '../webdav/node';
import {
  field,
  type LocationKind,
  nameSuffix,
  readRemote,
  remoteNode,
  resilient,
  webAddress,
  withPassword,
} from './kind';

const options = (spec: string): WebDavOptions => readRemote(spec, 'webdav').options;

/** The credential-free SPEC the profile keeps: CA file made absolute, consent to plain http kept. */
function stored(o: WebDavOptions): string {
  const query: string[] = [];
  if (o.caFile) query.push(`ca=${encodeURIComponent(nodePath.resolve(o.caFile))}`);
  if (o.allowInsecureHttp) query.push(`${INSECURE_HTTP}=1`);
  return displayWebDav(o) + (query.length ? `?${query.join('&')}` : '');
}

export const webdav = {
  name: 'webdav',
  schemes: ['webdav+http', 'webdav+https'],
  capabilities: { createRoot: 'always', pinsHostKey: false },
  conformance: ['test/conformance/webdav-apache.test.ts', 'test/conformance/webdav-rclone.test.ts'],
  parse(spec) {
    const { name, options: o } = readRemote(spec, 'webdav');
    return withPassword(name, stored(o), o.password, displayWebDav(o));
  },
  fromFields(fields, name, secrets) {
    const url = webAddress(fields, 'url', 'Address');
    const user = field(fields, 'user');
    if (secrets?.password && user === '') throw new UsageError('User: a password needs a user name');
    const caFile = field(fields, 'caFile');
    const query = caFile === '' ? '' : `?ca=${encodeURIComponent(caFile)}`;
    const userinfo = user === '' ? '' : `${encodeURIComponent(user)}@`;
    const scheme = url.protocol === 'https:' ? 'webdav+https' : 'webdav+http';
    return this.parse(`${scheme}://${userinfo}${url.host}${url.pathname}${query}${nameSuffix(name)}`);
  },
  display: (spec) => displayWebDav(options(spec)),
  // A server without a user is reached at once; one with a user needs its password.
  needsCredentials: (spec) => (options(spec).username ?? null) !== null,
  signInAddress(spec) {
    const o = options(spec);
    const url = new URL(o.url);
    return {
      user: o.username ?? null,
      host: url.hostname,
      port: url.port === '' ? null : Number(url.port),
      path: decodeURIComponent(url.pathname),
      keyFile: null,
      hostKey: null,
    };
  },
  open(spec, secrets) {
    const remote = options(spec);
    return remoteNode('webdav', displayWebDav(remote), resilient, async () => {
      const { WebDavNode } = await import('../webdav/node');
      return new WebDavNode({ ...remote, password: secrets?.password ?? null, timeoutMs: 15_000 });
    });
  },
  compose: resilient,
  plainHttp: {
    exposure(spec, hasSecrets) {
      if (!hasSecrets) return null;
      const o = options(spec);
      const host = plainHttpPasswordHost({ url: o.url, password: '' });
      return host === null ? null : { host, allowed: o.allowInsecureHttp === true };
    },
    allow: (spec) => stored({ ...options(spec), allowInsecureHttp: true }),
    refusal: plainHttpRefusal,
    exposes: 'its WebDAV password goes',
  },
} satisfies LocationKind;
