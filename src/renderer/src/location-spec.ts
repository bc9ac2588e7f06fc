/**
 * The "Add location" form's fields → a location SPEC, as the engine reads it
 * (src/core/storage/open.ts, src/core/storage/url.ts):
 *
 *   /absolute/folder#NAME
 *   sftp://USER[:PASSWORD]@HOST[:PORT]/ABSOLUTE/PATH[?identity=KEYFILE]#NAME
 *   webdav+http(s)://[USER[:PASSWORD]@]HOST[:PORT]/PATH[?ca=PEMFILE | ?insecure-http=1]#NAME
 *   s3(+http)://KEY[:SECRET]@HOST[:PORT]/BUCKET[/PREFIX][?region=R&style=virtual&insecure-http=1]#NAME
 *
 * The engine percent-decodes every part (and only that: '+' stays '+'), so each part the user
 * typed is encoded with encodeURIComponent. The password is not one of the fields (the form
 * keeps it in its input only) and goes into the SPEC only when given: the SPEC sent to
 * probeLocation, and every SPEC the page shows, carry none.
 */

import { isLocationName, LOCATION_KINDS, LOCATION_NAME_RULE, type LocationKindName } from '../../shared/location-kinds';

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
  hasPassword: false,
  insecureHttp: false,
};

/** The field a problem is about, so the form can mark it. */
export type FieldName =
  Exclude<keyof LocationFields, 'kind' | 'auth' | 'hasPassword' | 'insecureHttp' | 's3'> | 'password' | S3FieldName;

/** The S3 kind's fields other than its secret, as its form asks them. */
export const S3_FIELDS = LOCATION_KINDS.s3.fields.filter((f) => !('secret' in f));
export type S3FieldName = (typeof S3_FIELDS)[number]['name'];

export type BuiltSpec =
  | { readonly ok: true; readonly spec: string }
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

function problem(field: FieldName, message: string): BuiltSpec {
  return { ok: false, field, message };
}

/** Percent-encodes each segment of an absolute path; null when a segment is empty, '.' or '..'. */
function encodeAbsolutePath(path: string): string | null {
  const segments = path.split('/').slice(1);
  if (segments.at(-1) === '') segments.pop();
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return null;
  return `/${segments.map((s) => encodeURIComponent(s)).join('/')}`;
}

function hostPart(host: string): string | null {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.includes(':')) return /^[0-9A-Fa-f:.]+$/.test(bare) ? `[${bare}]` : null;
  return HOSTNAME.test(bare) ? bare : null;
}

/**
 * The SPEC for the fields, or the first problem in words. `name` is the name to use (the
 * user's, or the suggestion); `password`, when given, goes in (for addLocation only).
 */
export function buildSpec(fields: LocationFields, name: string, password: string | null = null): BuiltSpec {
  if (!isLocationName(name)) {
    return problem('name', `A name uses ${LOCATION_NAME_RULE}.`);
  }
  switch (fields.kind) {
    case 'local': {
      const folder = fields.folder.trim();
      if (folder === '') return problem('folder', 'Choose the folder that will hold the shards.');
      if (REMOTE.test(folder)) return problem('folder', 'That is a server address: choose SFTP or WebDAV above.');
      if (!isAbsolutePath(folder)) return problem('folder', 'Give the full path of the folder, starting with /.');
      return { ok: true, spec: `${folder}#${name}` };
    }
    case 'sftp': {
      const user = fields.user.trim();
      if (user === '') return problem('user', 'Give the user name to log in with.');
      const host = hostPart(fields.host.trim());
      if (host === null) {
        return problem('host', 'Give the server’s name or IP address, like nas.example.org or 192.168.1.20.');
      }
      const portText = fields.port.trim();
      const port = portText === '' ? 22 : Number(portText);
      if (!/^\d{1,5}$/.test(portText === '' ? '22' : portText) || port < 1 || port > 65535) {
        return problem('port', 'The port is a number from 1 to 65535 (SSH uses 22).');
      }
      const rawPath = fields.path.trim();
      if (!rawPath.startsWith('/')) {
        return problem('path', 'Give the folder on the server as a full path, starting with /.');
      }
      const path = encodeAbsolutePath(rawPath);
      if (path === null || path === '/') {
        return problem('path', 'The folder path must not be / alone or hold empty, “.” or “..” parts.');
      }
      let query = '';
      let secret = '';
      if (fields.auth === 'key') {
        const keyFile = fields.keyFile.trim();
        if (keyFile === '') return problem('keyFile', 'Give the private key file to log in with.');
        if (!isAbsolutePath(keyFile)) return problem('keyFile', 'Give the full path of the key file, starting with /.');
        query = `?identity=${encodeURIComponent(keyFile)}`;
      } else {
        if (!fields.hasPassword) return problem('password', 'Give the password, or log in with a key file.');
        if (password !== null) secret = `:${encodeURIComponent(password)}`;
      }
      const portPart = port === 22 ? '' : `:${port}`;
      return {
        ok: true,
        spec: `sftp://${encodeURIComponent(user)}${secret}@${host}${portPart}${path}${query}#${name}`,
      };
    }
    case 'webdav': {
      const text = fields.url.trim();
      if (text === '')
        return problem('url', 'Give the address of the WebDAV folder, like https://dav.example.org/vault.');
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return problem('url', 'That is not a web address: it starts with https:// or http://.');
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        return problem('url', 'A WebDAV address starts with https:// or http://.');
      }
      if (url.username !== '' || url.password !== '') {
        return problem('url', 'Put the user name and password in their own fields, not in the address.');
      }
      if (url.search !== '' || url.hash !== '') return problem('url', 'The address must not hold “?” or “#” parts.');
      if (hostPart(url.hostname) === null) return problem('url', 'The address has no usable server name.');
      let decoded: string;
      try {
        decoded = url.pathname
          .split('/')
          .map((s) => decodeURIComponent(s))
          .join('/');
      } catch {
        return problem('url', 'The address holds a malformed %-escape.');
      }
      const path = decoded === '/' ? '/' : encodeAbsolutePath(decoded);
      if (path === null) return problem('url', 'The folder in the address must not hold empty, “.” or “..” parts.');
      const user = fields.webdavUser.trim();
      if (fields.hasPassword && user === '') return problem('webdavUser', 'A password needs a user name.');
      const secret = fields.hasPassword && password !== null ? `:${encodeURIComponent(password)}` : '';
      const userinfo = user === '' ? '' : `${encodeURIComponent(user)}${secret}@`;
      const caFile = fields.caFile.trim();
      let query = '';
      if (caFile !== '') {
        if (url.protocol !== 'https:') return problem('caFile', 'A CA certificate applies to https:// addresses only.');
        if (!isAbsolutePath(caFile)) return problem('caFile', 'Give the full path of the CA file, starting with /.');
        query = `?ca=${encodeURIComponent(caFile)}`;
      }
      // Consent to a password over plain http (the engine refuses it to any other machine).
      if (url.protocol === 'http:' && fields.hasPassword && fields.insecureHttp) query = '?insecure-http=1';
      const scheme = url.protocol === 'https:' ? 'webdav+https' : 'webdav+http';
      return { ok: true, spec: `${scheme}://${userinfo}${url.host}${path}${query}#${name}` };
    }
    case 's3':
      return s3Spec(fields, name, password);
  }
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** An S3 location's SPEC; the secret key (the password input) only when given. */
function s3Spec(fields: LocationFields, name: string, secret: string | null): BuiltSpec {
  const value = (field: S3FieldName): string => (fields.s3[field] ?? '').trim();
  const text = value('endpoint');
  if (text === '') return problem('endpoint', 'Give the endpoint’s address, like https://s3.example.org.');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return problem('endpoint', 'That is not a web address: it starts with https:// or http://.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return problem('endpoint', 'An S3 endpoint starts with https:// or http://.');
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || url.pathname !== '/') {
    return problem('endpoint', 'Give the endpoint alone: the bucket and the keys go in their own fields.');
  }
  if (hostPart(url.hostname) === null) return problem('endpoint', 'The address has no usable server name.');
  const bucket = value('bucket');
  if (!BUCKET.test(bucket)) {
    return problem('bucket', 'A bucket name is 3-63 lowercase letters, digits, “.” or “-”.');
  }
  const prefix = value('prefix').replace(/^\/+|\/+$/g, '');
  const encodedPrefix = prefix === '' ? '' : encodeAbsolutePath(`/${prefix}`);
  if (encodedPrefix === null) return problem('prefix', 'The folder must not hold empty, “.” or “..” parts.');
  const region = value('region');
  if (region !== '' && !REGION.test(region)) return problem('region', 'A region is like us-east-1.');
  const key = value('accessKeyId');
  if (key === '') return problem('accessKeyId', 'Give the access key ID.');
  if (!fields.hasPassword) return problem('password', 'Give the secret key.');
  const query: string[] = [];
  if (region !== '' && region !== 'us-east-1') query.push(`region=${region}`);
  if (value('style') === 'virtual') query.push('style=virtual');
  // Consent to plain http (the engine refuses it to any other machine).
  if (url.protocol === 'http:' && fields.insecureHttp) query.push('insecure-http=1');
  const scheme = url.protocol === 'https:' ? 's3' : 's3+http';
  const userinfo = `${encodeURIComponent(key)}${secret !== null ? `:${encodeURIComponent(secret)}` : ''}`;
  const tail = query.length > 0 ? `?${query.join('&')}` : '';
  return { ok: true, spec: `${scheme}://${userinfo}@${url.host}/${bucket}${encodedPrefix}${tail}#${name}` };
}

/**
 * A SPEC with `fingerprint=` pinned (the host key the user confirmed), before its `#name`.
 * The fingerprint goes in raw: base64 holds '+' and '/', which the engine takes as they are.
 */
export function pinFingerprint(spec: string, fingerprint: string): string {
  const hash = spec.lastIndexOf('#');
  const [body, name] = hash < 0 ? [spec, ''] : [spec.slice(0, hash), spec.slice(hash)];
  return `${body}${body.includes('?') ? '&' : '?'}fingerprint=${fingerprint}${name}`;
}
