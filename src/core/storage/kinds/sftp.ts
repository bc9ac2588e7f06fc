/** The SFTP kind: a folder on an SSH server, its host key pinned on first use. */
import * as nodePath from 'node:path';
import { UsageError } from '../../errors';
import type { SftpOptions } from '../sftp/options';
import type { StorageNode } from '../node';
import { displaySftp } from '../url';
import {
  encodePath,
  field,
  type LocationKind,
  nameSuffix,
  readRemote,
  remoteNode,
  required,
  resilient,
  specHost,
  withPassword,
} from './kind';

const options = (spec: string): SftpOptions => readRemote(spec, 'sftp').options;

/** Calls in flight at once on one SFTP location (a get holds its slot while it streams). */
const CONCURRENCY = 4;
const compose = (node: StorageNode): StorageNode => resilient(node, { concurrency: CONCURRENCY });

/** The credential-free SPEC the profile keeps: key file made absolute, fingerprint pinned. */
function stored(o: SftpOptions): string {
  const query: string[] = [];
  if (o.privateKeyPath) query.push(`identity=${encodeURIComponent(nodePath.resolve(o.privateKeyPath))}`);
  if (o.fingerprint) query.push(`fingerprint=${o.fingerprint}`);
  return displaySftp(o) + (query.length ? `?${query.join('&')}` : '');
}

export const sftp = {
  name: 'sftp',
  schemes: ['sftp'],
  capabilities: { createRoot: 'always', pinsHostKey: true },
  conformance: [
    'test/conformance/sftp-openssh.test.ts',
    'test/conformance/sftp-worker.test.ts',
    'test/conformance/sftp-rclone.test.ts',
    'test/conformance/sftp-rclone-default.test.ts',
  ],
  parse(spec) {
    const { name, options: o } = readRemote(spec, 'sftp');
    return withPassword(name, stored(o), o.password, displaySftp(o));
  },
  fromFields(fields, name) {
    const user = required(fields, 'user', 'User');
    const host = specHost(required(fields, 'host', 'Server'));
    const port = field(fields, 'port');
    const path = required(fields, 'path', 'Folder on the server');
    if (!path.startsWith('/')) throw new UsageError('Folder on the server: give the full path, starting with /');
    const keyFile = field(fields, 'keyFile');
    const query = keyFile === '' ? '' : `?identity=${encodeURIComponent(keyFile)}`;
    return this.parse(
      `sftp://${encodeURIComponent(user)}@${host}${port === '' ? '' : `:${port}`}${encodePath(path)}${query}${nameSuffix(name)}`,
    );
  },
  display: (spec) => displaySftp(options(spec)),
  open(spec, secrets, { env }) {
    const remote = options(spec);
    const keyPassphrase = secrets?.keyPassphrase ?? env?.['SHARDVAULT_SFTP_KEY_PASSPHRASE'] ?? null;
    const display = displaySftp(remote);
    if (!remote.fingerprint) throw new UsageError(`${display}: no host key fingerprint is pinned`);
    // ssh2 is loaded only by vaults that use SFTP (it costs ~0.15 s at start), and where the
    // worker is bundled only by the SFTP worker threads (sftp/worker-node.ts).
    return remoteNode('sftp', display, compose, async () => {
      const o: SftpOptions = {
        ...remote,
        password: secrets?.password ?? null,
        passphrase: keyPassphrase || null,
        agent: env?.['SSH_AUTH_SOCK'] || null,
        home: env?.['HOME'] || null,
        connectTimeoutMs: 10_000,
      };
      const { SftpWorkerNode, sftpWorkerPath } = await import('../sftp/worker-node');
      const worker = sftpWorkerPath();
      if (worker !== null) return new SftpWorkerNode(o, worker);
      const { SftpNode } = await import('../sftp/node');
      return new SftpNode(o);
    });
  },
  compose,
  keyFile: (spec) => options(spec).privateKeyPath ?? null,
  // A password, or a key or agent of this machine's: never something the head can carry.
  needsCredentials: () => true,
  signInAddress(spec) {
    const o = options(spec);
    return {
      user: o.username,
      host: o.host,
      port: o.port ?? 22,
      path: o.root,
      keyFile: o.privateKeyPath ?? null,
      hostKey: o.fingerprint ?? null,
    };
  },
  hostKey: {
    target(spec) {
      const o = options(spec);
      return { host: o.host, port: o.port ?? 22, fingerprint: o.fingerprint ?? null };
    },
    pin: (spec, fingerprint) => stored({ ...options(spec), fingerprint }),
  },
} satisfies LocationKind;
