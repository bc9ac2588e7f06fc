/**
 * What a node keeps in its folder (DIR), every file 0600, the folder 0700:
 *
 *   node.json      {format, version, vaultId|null, created}: the one vault it serves, once bound
 *   identity.key   Ed25519 identity key (PKCS#8 PEM)
 *   tls.key        the TLS key (Ed25519, PKCS#8 PEM); tls.crt its self-signed certificate (PEM)
 *   devices.json   {devices: [{key, enrolled}]}: the enrolled device keys
 *   enrol.json     {codeSha256, expires}: the pending enrolment code's hash (never the code)
 *   address        the SPEC the running node printed, without a code (read by `node new-code`)
 *   log.jsonl      the request log (./log.ts)
 *   seal.key       32 random bytes sealing the guard Custodian's state (./custodian.ts)
 *   guard/         the guard Custodian's files (its share, sealed; its own request log)
 *   store/         the objects, kept by the local folder backend (no link followed, format
 *                  names deleted only)
 *
 * The folder is the administrator's; the node trusts it as the SFTP server trusts its disk.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  timingSafeEqual,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import {
  ENROL_CODE,
  ENROL_CODE_LIFETIME_MS,
  publicKeyText,
  sha256Hex,
  spkiFingerprint,
} from '../storage/shardnode/protocol';
import { UsageError } from '../errors';
import { syncDirectory } from '../storage/local';
import { pem, selfSignedCertificate } from './cert';

const NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;

/** Writes a file of DIR whole: a temporary name (0600, never through a link), then rename. */
export async function writePrivate(path: string, data: string | Uint8Array): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | NOFOLLOW, 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, path);
  // The rename is durable only once its folder is (a custodian's key share, the node's keys).
  await syncDirectory(nodePath.dirname(path));
}

/** A file of DIR, or null when missing; never through a link. */
export async function readPrivate(
  path: string,
  maxBytes = 1024 * 1024,
  encoding: 'utf8' | 'base64' = 'utf8',
): Promise<string | null> {
  let handle;
  try {
    handle = await fs.open(path, fsConstants.O_RDONLY | NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > maxBytes) throw new Error(`${path}: not a file of at most ${maxBytes} bytes`);
    return (await handle.readFile()).toString(encoding);
  } finally {
    await handle.close();
  }
}

interface Devices {
  devices: { key: string; enrolled: string }[];
}

export class NodeState {
  vaultId: string | null = null;
  private devices: Devices = { devices: [] };
  private enrol: { codeSha256: string; expires: number } | null = null;
  private enrolling: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly identity: KeyObject,
    readonly tlsKeyPem: string,
    readonly certPem: string,
    readonly fingerprint: string,
  ) {}

  get storeDir(): string {
    return nodePath.join(this.dir, 'store');
  }
  get logPath(): string {
    return nodePath.join(this.dir, 'log.jsonl');
  }
  /** The identity key's 32-byte seed (the guard Custodian signs with it). */
  get identitySeed(): Uint8Array {
    const der = this.identity.export({ type: 'pkcs8', format: 'der' });
    return new Uint8Array(der.subarray(der.length - 32));
  }
  get identityText(): string {
    return publicKeyText(createPublicKey(this.identity));
  }

  /** Opens DIR, making its keys, certificate and store at first start (`existing`: only a node's folder). */
  static async open(dir: string, existing = false): Promise<NodeState> {
    const root = nodePath.resolve(dir);
    if (existing && (await readPrivate(nodePath.join(root, 'node.json'))) === null)
      throw new UsageError(`${root} is not a node's folder (no node.json): start it with node serve first`);
    await fs.mkdir(root, { recursive: true, mode: 0o700 });
    const st = await fs.lstat(root);
    if (!st.isDirectory()) throw new Error(`${root} is not a folder`);
    const at = (name: string): string => nodePath.join(root, name);

    let identityPem = await readPrivate(at('identity.key'));
    if (identityPem === null) {
      identityPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      await writePrivate(at('identity.key'), identityPem);
    }
    let tlsKeyPem = await readPrivate(at('tls.key'));
    let certPem = await readPrivate(at('tls.crt'));
    if (tlsKeyPem === null || certPem === null) {
      const pair = generateKeyPairSync('ed25519');
      tlsKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      certPem = pem('CERTIFICATE', selfSignedCertificate(pair, 'shardvault node'));
      await writePrivate(at('tls.key'), tlsKeyPem);
      await writePrivate(at('tls.crt'), certPem);
    }
    const cert = new X509Certificate(certPem);
    const fingerprint = spkiFingerprint(cert.publicKey.export({ type: 'spki', format: 'der' }));
    const state = new NodeState(root, createPrivateKey(identityPem), tlsKeyPem, certPem, fingerprint);

    const node = await readPrivate(at('node.json'));
    if (node === null) {
      await state.saveNode(new Date().toISOString());
    } else {
      const parsed = JSON.parse(node) as { format?: unknown; vaultId?: unknown };
      if (parsed.format !== 'shardvault-node') throw new Error(`${at('node.json')} is not a node's record`);
      state.vaultId = typeof parsed.vaultId === 'string' ? parsed.vaultId : null;
    }
    const devices = await readPrivate(at('devices.json'));
    if (devices !== null) state.devices = JSON.parse(devices) as Devices;
    const enrol = await readPrivate(at('enrol.json'));
    if (enrol !== null) state.enrol = JSON.parse(enrol) as { codeSha256: string; expires: number };
    await fs.mkdir(state.storeDir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    return state;
  }

  private created = '';
  private async saveNode(created: string): Promise<void> {
    this.created = created;
    await writePrivate(
      nodePath.join(this.dir, 'node.json'),
      JSON.stringify({ format: 'shardvault-node', version: 1, vaultId: this.vaultId, created }, null, 2) + '\n',
    );
  }

  /** Binds the node to the vault whose location record is first stored; false for another vault. */
  async bindVault(vaultId: string): Promise<boolean> {
    if (this.vaultId !== null) return this.vaultId === vaultId;
    this.vaultId = vaultId;
    const node = JSON.parse((await readPrivate(nodePath.join(this.dir, 'node.json'))) ?? '{}') as { created?: string };
    await this.saveNode(node.created ?? this.created);
    return true;
  }

  get enrolled(): boolean {
    return this.devices.devices.length > 0;
  }

  /** The enrolled devices (key base64url, enrolled ISO 8601). */
  deviceList(): readonly { readonly key: string; readonly enrolled: string }[] {
    return this.devices.devices;
  }

  isDevice(key: string): boolean {
    return this.devices.devices.some((d) => d.key === key);
  }

  /**
   * Takes `key` off the enrolled devices (a guard's signed, approved `device-remove`), durably
   * before it resolves; in turn with enrolments. Answers whether it was enrolled. The key may
   * enrol again only as any new device does: with a fresh code (and the guardians' approval when
   * the policy asks for it).
   */
  removeDevice(key: string): Promise<boolean> {
    const turn = this.enrolling.then(async () => {
      if (!this.isDevice(key)) return false;
      const devices = { devices: this.devices.devices.filter((d) => d.key !== key) };
      await writePrivate(nodePath.join(this.dir, 'devices.json'), JSON.stringify(devices, null, 2) + '\n');
      this.devices = devices;
      return true;
    });
    this.enrolling = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** A fresh single-use code (replacing any pending one), valid 24 h; only its hash is kept. */
  async newEnrolCode(now = Date.now()): Promise<string> {
    const code = randomBytes(16).toString('hex');
    this.enrol = { codeSha256: sha256Hex(code), expires: now + ENROL_CODE_LIFETIME_MS };
    await writePrivate(nodePath.join(this.dir, 'enrol.json'), JSON.stringify(this.enrol) + '\n');
    return code;
  }

  /** Whether `code` is the pending code, unexpired; nothing is spent (enrolDevice spends it). */
  async checkEnrolCode(code: string, now = Date.now()): Promise<boolean> {
    const file = await readPrivate(nodePath.join(this.dir, 'enrol.json'));
    const pending = file === null ? null : (JSON.parse(file) as { codeSha256: string; expires: number });
    if (pending === null || !ENROL_CODE.test(code) || !/^[0-9a-f]{64}$/.test(pending.codeSha256)) return false;
    const given = Buffer.from(sha256Hex(code), 'hex');
    return timingSafeEqual(given, Buffer.from(pending.codeSha256, 'hex')) && now <= pending.expires;
  }

  /**
   * Enrols `key` when `code` is the pending one and not expired; a matching code is spent.
   * The pending code is read from enrol.json each time (`node new-code` writes it while the
   * node runs), and enrolments are taken one at a time, so a code enrols one device.
   */
  enrolDevice(key: string, code: string, now = Date.now()): Promise<boolean> {
    const turn = this.enrolling.then(async () => {
      const file = await readPrivate(nodePath.join(this.dir, 'enrol.json'));
      const pending = file === null ? null : (JSON.parse(file) as { codeSha256: string; expires: number });
      this.enrol = pending;
      if (pending === null || !ENROL_CODE.test(code) || !/^[0-9a-f]{64}$/.test(pending.codeSha256)) return false;
      const given = Buffer.from(sha256Hex(code), 'hex');
      if (!timingSafeEqual(given, Buffer.from(pending.codeSha256, 'hex'))) return false;
      this.enrol = null;
      await fs.rm(nodePath.join(this.dir, 'enrol.json'), { force: true });
      if (now > pending.expires) return false;
      if (!this.isDevice(key)) this.devices.devices.push({ key, enrolled: new Date(now).toISOString() });
      await writePrivate(nodePath.join(this.dir, 'devices.json'), JSON.stringify(this.devices, null, 2) + '\n');
      return true;
    });
    this.enrolling = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** The SPEC without a code, as the running node last printed it (for `node new-code`). */
  async writeAddress(spec: string): Promise<void> {
    await writePrivate(nodePath.join(this.dir, 'address'), spec + '\n');
  }

  /** The address a running node wrote, or null. */
  async readAddress(): Promise<string | null> {
    return (await readPrivate(nodePath.join(this.dir, 'address')))?.trim() ?? null;
  }
}
