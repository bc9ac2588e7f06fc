/**
 * The "Add location" form's fields → a location as the bridge carries it (LocationInput in
 * src/shared/location-kinds.ts: the kind's address fields by name, its secrets beside them),
 * checked field by field so the form can point at the one to fix. No SPEC is built here: that
 * notation is the CLI's, read by the engine alone (src/core/storage/kinds/), and no secret is
 * ever put into a URL. The engine checks everything again.
 */

import {
  isLocationName,
  LOCATION_KINDS,
  LOCATION_NAME_RULE,
  type LocationInput,
  type LocationKindName,
} from '../../shared/location-kinds';

export type LocationKindChoice = LocationKindName;

export interface LocationFields {
  readonly kind: LocationKindChoice;
  /** The name in the vault; empty = the suggestion. */
  readonly name: string;
  /** Folder */
  readonly folder: string;
  /** SFTP */
  readonly user: string;
  readonly host: string;
  readonly port: string;
  readonly path: string;
  readonly auth: 'key' | 'password';
  readonly keyFile: string;
  /** WebDAV */
  readonly url: string;
  readonly webdavUser: string;
  readonly caFile: string;
  /** S3: its address fields by the names in src/shared/location-kinds.ts (the secret key is the password input). */
  readonly s3: Readonly<Record<string, string>>;
  /** Shardvault node: the line `shardvault node serve` printed. */
  readonly nodeAddress: string;
  /** Whether the password input holds something (its value stays in the input). */
  readonly hasPassword: boolean;
  /** The user allows the WebDAV password over plain http:// to another machine. */
  readonly insecureHttp: boolean;
}

export const EMPTY_FIELDS: LocationFields = {
  kind: 'local',
  name: '',
  folder: '',
  user: '',
  host: '',
  port: '22',
  path: '',
  auth: 'key',
  keyFile: '',
  url: '',
  webdavUser: '',
  caFile: '',
  s3: {},
  nodeAddress: '',
  hasPassword: false,
  insecureHttp: false,
};

/** The field a problem is about, so the form can mark it. */
export type FieldName =
  Exclude<keyof LocationFields, 'kind' | 'auth' | 'hasPassword' | 'insecureHttp' | 's3'> | 'password' | S3FieldName;

/** The S3 kind's fields other than its secret, as its form asks them. */
export const S3_FIELDS = LOCATION_KINDS.s3.fields.filter((f) => !('secret' in f));
export type S3FieldName = (typeof S3_FIELDS)[number]['name'];

export type BuiltLocation =
  | {
      readonly ok: true;
      /** Without its secrets: the form adds them from their inputs for addLocation only. */
      readonly location: LocationInput;
      /** The user allowed plain http to another machine (the checkbox). */
      readonly allowInsecureHttp: boolean;
    }
  | { readonly ok: false; readonly field: FieldName; readonly message: string };

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$/;
const REMOTE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** An absolute path on the machine that runs the engine (POSIX, a Windows drive, or UNC). */
export function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

/** A name for a new location: from the folder or the host, else loc<N>; never one taken. */
export function suggestName(fields: LocationFields, taken: readonly string[]): string {
  let base: string;
  if (fields.kind === 'local') {
    base =
      fields.folder
        .trim()
        .replace(/[\\/]+$/, '')
        .split(/[\\/]/)
        .pop() ?? '';
  } else if (fields.kind === 'sftp') {
    base = fields.host.trim().split('.')[0] ?? '';
  } else if (fields.kind === 's3') {
    base = (fields.s3['bucket'] ?? '').trim();
  } else if (fields.kind === 'node') {
    base = /^node\+https:\/\/([A-Za-z0-9-]+)/i.exec(fields.nodeAddress.trim())?.[1] ?? '';
  } else {
    try {
      base = new URL(fields.url.trim()).hostname.split('.')[0] ?? '';
    } catch {
      base = '';
    }
  }
  base = base
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 48);
  const free = (name: string): boolean => !taken.includes(name);
  if (base !== '' && isLocationName(base) && !/^\d+$/.test(base)) {
    if (free(base)) return base;
    for (let i = 2; i < 1000; i++) if (free(`${base}-${i}`)) return `${base}-${i}`;
  }
  for (let i = taken.length + 1; ; i++) if (free(`loc${i}`)) return `loc${i}`;
}

function problem(field: FieldName, message: string): BuiltLocation {
  return { ok: false, field, message };
}

/** An absolute path below the root: no empty, '.' or '..' segment. */
function isFolderPath(path: string): boolean {
  const segments = path.split('/').slice(1);
  if (segments.at(-1) === '') segments.pop();
  return segments.length > 0 && !segments.some((s) => s === '' || s === '.' || s === '..');
}

function isHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.includes(':')) return /^[0-9A-Fa-f:.]+$/.test(bare);
  return HOSTNAME.test(bare);
}

/**
 * A web address typed in `field`: http(s), a usable host, and nothing that has a field of its
 * own (a user, a password) or no place in it ("?", "#"); else the problem.
 */
function webAddress(text: string, field: FieldName, missing: string): URL | BuiltLocation {
  if (text.trim() === '') return problem(field, missing);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return problem(field, 'That is not a web address: it starts with https:// or http://.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return problem(field, 'The address starts with https:// or http://.');
  }
  if (url.username !== '' || url.password !== '') {
    return problem(field, 'Put the user name and password in their own fields, not in the address.');
  }
  if (url.search !== '' || url.hash !== '') return problem(field, 'The address must not hold “?” or “#” parts.');
  if (!isHost(url.hostname)) return problem(field, 'The address has no usable server name.');
  return url;
}

/**
 * The location for the fields, or the first problem in words. `name` is the name to use (the
 * user's, or the suggestion). The secrets are not fields (the form keeps them in their inputs
 * only): the caller adds them for addLocation, never for probeLocation.
 */
export function buildLocation(fields: LocationFields, name: string): BuiltLocation {
  if (!isLocationName(name)) {
    return problem('name', `A name uses ${LOCATION_NAME_RULE}.`);
  }
  const built = (kind: LocationKindChoice, address: Record<string, string>, plainHttp = false): BuiltLocation => ({
    ok: true,
    location: { kind, name, fields: Object.fromEntries(Object.entries(address).filter(([, v]) => v !== '')) },
    allowInsecureHttp: plainHttp && fields.insecureHttp,
  });
  switch (fields.kind) {
    case 'local': {
      const folder = fields.folder.trim();
      if (folder === '') return problem('folder', 'Choose the folder that will hold the shards.');
      if (REMOTE.test(folder)) return problem('folder', 'That is a server address: choose a server above.');
      if (!isAbsolutePath(folder)) return problem('folder', 'Give the full path of the folder, starting with /.');
      return built('local', { folder });
    }
    case 'sftp': {
      const user = fields.user.trim();
      if (user === '') return problem('user', 'Give the user name to log in with.');
      const host = fields.host.trim();
      if (!isHost(host)) {
        return problem('host', 'Give the server’s name or IP address, like nas.example.org or 192.168.1.20.');
      }
      const port = fields.port.trim();
      if (port !== '' && (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
        return problem('port', 'The port is a number from 1 to 65535 (SSH uses 22).');
      }
      const path = fields.path.trim();
      if (!path.startsWith('/')) {
        return problem('path', 'Give the folder on the server as a full path, starting with /.');
      }
      if (!isFolderPath(path)) {
        return problem('path', 'The folder path must not be / alone or hold empty, “.” or “..” parts.');
      }
      let keyFile = '';
      if (fields.auth === 'key') {
        keyFile = fields.keyFile.trim();
        if (keyFile === '') return problem('keyFile', 'Give the private key file to log in with.');
        if (!isAbsolutePath(keyFile)) return problem('keyFile', 'Give the full path of the key file, starting with /.');
      } else if (!fields.hasPassword) {
        return problem('password', 'Give the password, or log in with a key file.');
      }
      return built('sftp', { user, host, port: port === '22' ? '' : port, path, keyFile });
    }
    case 'webdav': {
      const url = webAddress(
        fields.url,
        'url',
        'Give the address of the WebDAV folder, like https://dav.example.org/vault.',
      );
      if (!(url instanceof URL)) return url;
      const user = fields.webdavUser.trim();
      if (fields.hasPassword && user === '') return problem('webdavUser', 'A password needs a user name.');
      const caFile = fields.caFile.trim();
      if (caFile !== '') {
        if (url.protocol !== 'https:') return problem('caFile', 'A CA certificate applies to https:// addresses only.');
        if (!isAbsolutePath(caFile)) return problem('caFile', 'Give the full path of the CA file, starting with /.');
      }
      // Consent to a password over plain http (the engine refuses it to any other machine).
      return built('webdav', { url: url.href, user, caFile }, url.protocol === 'http:' && fields.hasPassword);
    }
    case 's3':
      return s3Location(fields, built);
    case 'node': {
      // Read whole by the engine (its enrolment code becomes a sealed secret there).
      const address = fields.nodeAddress.trim();
      if (!/^node\+https:\/\/\S+\?fingerprint=SHA256:/i.test(address))
        return problem('nodeAddress', 'Paste the line the node printed: node+https://HOST:PORT/?fingerprint=SHA256:…');
      return built('node', { address });
    }
  }
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** An S3 location's fields; the secret key is the password input. */
function s3Location(
  fields: LocationFields,
  built: (kind: 's3', address: Record<string, string>, plainHttp: boolean) => BuiltLocation,
): BuiltLocation {
  const value = (field: S3FieldName): string => (fields.s3[field] ?? '').trim();
  const url = webAddress(value('endpoint'), 'endpoint', 'Give the endpoint’s address, like https://s3.example.org.');
  if (!(url instanceof URL)) return url;
  if (url.pathname !== '/') return problem('endpoint', 'Give the endpoint alone: the bucket has a field of its own.');
  const bucket = value('bucket');
  if (!BUCKET.test(bucket)) {
    return problem('bucket', 'A bucket name is 3-63 lowercase letters, digits, “.” or “-”.');
  }
  const prefix = value('prefix').replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && !isFolderPath(`/${prefix}`)) {
    return problem('prefix', 'The folder must not hold empty, “.” or “..” parts.');
  }
  const region = value('region');
  if (region !== '' && !REGION.test(region)) return problem('region', 'A region is like us-east-1.');
  const accessKeyId = value('accessKeyId');
  if (accessKeyId === '') return problem('accessKeyId', 'Give the access key ID.');
  if (!fields.hasPassword) return problem('password', 'Give the secret key.');
  const style = value('style') || 'path';
  return built('s3', { endpoint: url.origin, bucket, prefix, region, style, accessKeyId }, url.protocol === 'http:');
}
