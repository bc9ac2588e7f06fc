/**
 * The kinds of storage location, and the rule for a location's name, defined once. The
 * engine's registry (src/core/storage/kinds/) has one entry per kind named here and reads its
 * address fields from here; the bridge's schemas, the profile and head readers and the
 * renderer's forms all derive from this list. Adding a kind: docs/ARCHITECTURE.md, "Adding a
 * location kind".
 *
 * Plain TypeScript: no Node, no DOM (the layer rule in eslint.config.js).
 */

/** One field of a location's address, as a form asks it and the engine reads it. */
export interface AddressField {
  /** The key in the kind's address (and, for a secret, in the sealed credentials). */
  readonly name: string;
  /** Words for a form's label. */
  readonly label: string;
  /** `path`: a path on the machine that runs the engine; `choice`: one of `choices`. */
  readonly type: 'text' | 'path' | 'port' | 'url' | 'choice' | 'flag';
  /** Sealed in the profile under the passphrase, never shown, never in a display string. */
  readonly secret?: boolean;
  /** Made by the engine, never asked by a form (a node's device key, its enrolment code). */
  readonly generated?: boolean;
  readonly optional?: boolean;
  readonly placeholder?: string;
  /** For `choice`: the values, the first the default. */
  readonly choices?: readonly string[];
}

export interface LocationKindInfo {
  /** What a person calls it in a list ("Folder", "SFTP"). */
  readonly word: string;
  /** The choice in the Add location form ("SFTP server"). */
  readonly choice: string;
  readonly fields: readonly AddressField[];
}

export const LOCATION_KINDS = {
  local: {
    word: 'Folder',
    choice: 'Folder',
    fields: [{ name: 'folder', label: 'Folder', type: 'path', placeholder: '/media/usb/shardvault' }],
  },
  sftp: {
    word: 'SFTP',
    choice: 'SFTP server',
    fields: [
      { name: 'user', label: 'User', type: 'text', placeholder: 'alice' },
      { name: 'host', label: 'Server', type: 'text', placeholder: 'nas.example.org' },
      { name: 'port', label: 'Port', type: 'port', optional: true, placeholder: '22' },
      { name: 'path', label: 'Folder on the server', type: 'text', placeholder: '/srv/shardvault' },
      {
        name: 'keyFile',
        label: 'Private key file',
        type: 'path',
        optional: true,
        placeholder: '/home/alice/.ssh/id_ed25519',
      },
      { name: 'keyPassphrase', label: 'Key passphrase', type: 'text', secret: true, optional: true },
      { name: 'password', label: 'Password', type: 'text', secret: true, optional: true },
    ],
  },
  webdav: {
    word: 'WebDAV',
    choice: 'WebDAV server',
    fields: [
      {
        name: 'url',
        label: 'Address',
        type: 'url',
        placeholder: 'https://dav.example.org/remote.php/dav/files/alice/vault',
      },
      { name: 'user', label: 'User', type: 'text', optional: true },
      { name: 'password', label: 'Password', type: 'text', secret: true, optional: true },
      { name: 'caFile', label: 'CA certificate (PEM)', type: 'path', optional: true },
    ],
  },
  s3: {
    word: 'S3',
    choice: 'S3 bucket',
    fields: [
      { name: 'endpoint', label: 'Endpoint', type: 'url', placeholder: 'https://s3.eu-central-003.backblazeb2.com' },
      { name: 'bucket', label: 'Bucket', type: 'text', placeholder: 'my-vault' },
      { name: 'prefix', label: 'Folder in the bucket', type: 'text', optional: true, placeholder: 'shardvault' },
      { name: 'region', label: 'Region', type: 'text', optional: true, placeholder: 'us-east-1' },
      { name: 'style', label: 'Addressing', type: 'choice', choices: ['path', 'virtual'] },
      { name: 'accessKeyId', label: 'Access key ID', type: 'text' },
      { name: 'secretAccessKey', label: 'Secret key', type: 'text', secret: true },
    ],
  },
  node: {
    word: 'Node',
    choice: 'Shardvault node',
    fields: [
      {
        name: 'address',
        label: 'Node address (the line `shardvault node serve` printed)',
        type: 'text',
        placeholder: 'node+https://nas.example.org:4431/?fingerprint=SHA256:...&enrol=...',
      },
      // This device's Ed25519 key for the node, made when the location is added, and the
      // node's single-use enrolment code taken from the address: sealed like any credential.
      { name: 'deviceKey', label: 'Device key', type: 'text', secret: true, generated: true },
      { name: 'enrolCode', label: 'Enrolment code', type: 'text', secret: true, generated: true, optional: true },
    ],
  },
} as const satisfies Record<string, LocationKindInfo>;

export type LocationKindName = keyof typeof LOCATION_KINDS;
export const LOCATION_KIND_NAMES = Object.keys(LOCATION_KINDS) as readonly LocationKindName[];

type SecretOf<F> = F extends { readonly name: infer N; readonly secret: true } ? N : never;
/** The names of every kind's secret fields: the keys of a location's sealed credentials. */
export type SecretFieldName = SecretOf<(typeof LOCATION_KINDS)[LocationKindName]['fields'][number]>;
export const SECRET_FIELD_NAMES = [
  ...new Set(LOCATION_KIND_NAMES.flatMap((k) => fieldNames(k, true))),
] as readonly SecretFieldName[];

/**
 * A location as a form gives it, and as the bridges carry it: its kind's address fields and
 * its secrets by name, never a SPEC (that notation is the CLI's). The engine reads it in one
 * place (src/core/storage/open.ts readLocation).
 */
export interface LocationInput {
  readonly kind: LocationKindName;
  /** Its name in the vault; absent: the engine names it (loc1, loc2, ...). */
  readonly name?: string;
  /** The kind's address fields but the secret ones, by name; an empty or absent one is not given. */
  readonly fields: Readonly<Record<string, string>>;
  /** The kind's secret fields: sealed in the profile, never sent back. */
  readonly secrets?: { readonly [F in SecretFieldName]?: string };
  /** A server's host key the user confirmed (`SHA256:...`), pinned as the location is added. */
  readonly hostKey?: string;
}

/** The names of a kind's fields, its secret ones or the others. */
export function fieldNames(kind: LocationKindName, secret: boolean): string[] {
  return (LOCATION_KINDS[kind].fields as readonly AddressField[])
    .filter((f) => (f.secret === true) === secret)
    .map((f) => f.name);
}

/** The names of a kind's secret fields the engine makes itself (never asked by a form). */
export function generatedFieldNames(kind: LocationKindName): string[] {
  return (LOCATION_KINDS[kind].fields as readonly AddressField[])
    .filter((f) => f.generated === true)
    .map((f) => f.name);
}

export function isLocationKind(value: unknown): value is LocationKindName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(LOCATION_KINDS, value);
}

/** A location's name in the vault: what a SPEC's #NAME, a form and the profile hold. */
export const LOCATION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const LOCATION_NAME_RULE = "letters, digits, '.', '_' or '-' (up to 64), starting with a letter or digit";

export function isLocationName(name: string): boolean {
  return LOCATION_NAME.test(name);
}

/**
 * A location's failure domain: what it fails together with (a building, a provider, one
 * NAS). Locations with the same domain count as one for the policy's X and Y; a location
 * without one is a domain of its own. The one rule for the CLI's --domain, forms and the head.
 */
export const LOCATION_DOMAIN = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
export const LOCATION_DOMAIN_RULE =
  "letters, digits, spaces, '.', '_' or '-' (up to 64), starting with a letter or digit";

export function isLocationDomain(domain: string): boolean {
  return LOCATION_DOMAIN.test(domain) && domain.trimEnd() === domain;
}
