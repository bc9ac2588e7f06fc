/**
 * The bridge between a front end's UI and the engine, declared once (STYLE.md, "Declare IPC
 * once"): a name per call, a runtime schema for every request and every response, and one
 * answer envelope. Electron's main process (ipcMain), the preload (contextBridge), the web
 * bridge (`shardvault serve`) and its browser client all read this table, so the desktop
 * app and the web UI cannot drift apart.
 *
 * Rules the schemas carry out:
 *   - Requests are parsed strictly: a wrong type, a bound out of range or an unknown key is
 *     refused with a SchemaError that names the field (the web bridge answers 400).
 *   - Responses are rebuilt field by field from the contract (src/shared/api.ts): a key
 *     the contract does not name is dropped, so nothing but status objects can reach the
 *     renderer even if the engine grew a field it should not send.
 *   - The only secret that ever travels engine → UI is the recovery code, in recoveryKit's
 *     answer, from the vault's creation until the user confirms the kit (or it is locked).
 *     Passphrases, and a location's secrets (createVault, openVault, addLocation,
 *     editLocation), travel UI → engine only, each as a field of its own (locationInput):
 *     no request carries a SPEC, so no secret crosses a bridge inside a URL. An error message
 *     that quotes a SPEC or URL has its password redacted (toBridgeError).
 *
 * Plain TypeScript: no Node, no DOM (the layer rule in eslint.config.js).
 */

import type {
  AccessRequest,
  DrillReport,
  DriveInfo,
  FileEntry,
  FolderReport,
  GuardRequest,
  GuardReshareReport,
  GuardStatus,
  Health,
  LocationProbe,
  LocationStatus,
  LocationTest,
  NodeHealth,
  PassphraseChangeReport,
  PlacementReport,
  ProgressEvent,
  RecoveryKit,
  RepairReport,
  ShardState,
  ShardvaultApi,
  PolicyChangeReport,
  PolicyJobStatus,
  StatusReport,
  VaultSummary,
  VerifyReport,
} from './api';
import type { KitFacts } from './kit';
import { type ErrorCode, isEngineErrorCode } from './errors';
import {
  fieldNames,
  type LocationInput,
  LOCATION_KIND_NAMES,
  LOCATION_NAME,
  LOCATION_NAME_RULE,
  LOCATION_DOMAIN,
  LOCATION_DOMAIN_RULE,
} from './location-kinds';
import { ACCESS_ACTIONS, ACCESS_OUTCOMES } from './access';
import { every } from './every';
import { redactCredentials } from './redact';

// ---------------------------------------------------------------------------------------
// The envelope

export interface BridgeError {
  /** An engine error code or one a bridge adds (src/shared/errors.ts). */
  readonly code: ErrorCode;
  /** Words for a user; never a secret. */
  readonly message: string;
  /** Which of the locations the request listed the failure is about, by position (the
   * engine's LocationsError): a form marks those rows. Absent when it is about none. */
  readonly locations?: readonly number[];
}

/** A BridgeError's `locations`, when `value` is a list of positions; else undefined. */
export function failedLocations(value: unknown): readonly number[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > 64) return undefined;
  return value.every((i) => Number.isSafeInteger(i) && (i as number) >= 0 && (i as number) < 64)
    ? (value as number[])
    : undefined;
}

export type Envelope<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: BridgeError };

const MAX_MESSAGE = 500;

/**
 * A failure that already crossed a bridge as a BridgeError (the engine host's relay,
 * src/host): thrown again on this side of it with the same code, message and
 * locations, so the next bridge answers exactly what the engine's own would have.
 */
export class BridgeFailure extends Error {
  override readonly name = 'BridgeFailure';
  constructor(readonly bridge: BridgeError) {
    super(bridge.message);
  }
  get code(): ErrorCode {
    return this.bridge.code;
  }
}

/**
 * What a bridge may tell the UI about a failure. Engine errors and schema errors carry
 * messages written for users; anything else (a library's error may quote a URL with
 * credentials) becomes a generic message, and the caller logs the detail, redacted.
 */
export function toBridgeError(error: unknown): BridgeError {
  if (error instanceof BridgeFailure) return error.bridge;
  if (error instanceof SchemaError) return { code: 'bad-request', message: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (isEngineErrorCode(code)) {
      const locations = failedLocations((error as { locations?: unknown }).locations);
      return {
        code,
        message: redactCredentials(error.message).slice(0, MAX_MESSAGE),
        ...(locations ? { locations } : {}),
      };
    }
  }
  return { code: 'internal', message: 'Something went wrong inside Shardvault. The details are in its log.' };
}

// ---------------------------------------------------------------------------------------
// Schemas: a few hand-written combinators (no dependency)

export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  constructor(
    /** Where in the payload, e.g. `locations[2]`; '' for the payload itself. */
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path === '' ? 'request' : path}: ${problem}`);
  }
}

export interface Schema<T> {
  /** What the schema accepts, in words, for error messages. */
  readonly expected: string;
  parse(value: unknown, path?: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function schema<T>(expected: string, parse: (value: unknown, path: string) => T): Schema<T> {
  return { expected, parse: (value, path = '') => parse(value, path) };
}

function fail(path: string, problem: string): never {
  throw new SchemaError(path, problem);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export function string(
  options: { min?: number; max?: number; control?: boolean; pattern?: RegExp; expected?: string } = {},
): Schema<string> {
  const { min = 0, max = 4096, control = false, pattern } = options;
  const expected = options.expected ?? `text of ${min} to ${max} characters`;
  return schema(expected, (value, path) => {
    if (typeof value !== 'string') fail(path, `expected ${expected}, got ${describe(value)}`);
    if (value.length < min) fail(path, min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
    if (value.length > max) fail(path, `must be at most ${max} characters`);
    if (!control && CONTROL.test(value)) fail(path, 'must not contain control characters');
    if (pattern && !pattern.test(value)) fail(path, `expected ${expected}`);
    return value;
  });
}

export function integer(options: { min?: number; max?: number } = {}): Schema<number> {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = options;
  const expected = `a whole number from ${min} to ${max}`;
  return schema(expected, (value, path) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(path, `expected ${expected}`);
    if (value < min || value > max) fail(path, `expected ${expected}, got ${value}`);
    return value;
  });
}

export function number(options: { min?: number; max?: number } = {}): Schema<number> {
  const { min = 0, max = Number.MAX_VALUE } = options;
  const expected = `a number from ${min} to ${max}`;
  return schema(expected, (value, path) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      fail(path, `expected ${expected}`);
    }
    return value;
  });
}

export const boolean: Schema<boolean> = schema('true or false', (value, path) => {
  if (typeof value !== 'boolean') fail(path, `expected true or false, got ${describe(value)}`);
  return value;
});

export function oneOf<const T extends string>(values: readonly T[]): Schema<T> {
  const expected = `one of ${values.map((v) => `'${v}'`).join(', ')}`;
  return schema(expected, (value, path) => {
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) fail(path, `expected ${expected}`);
    return value as T;
  });
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return schema(`${inner.expected} or null`, (value, path) => (value === null ? null : inner.parse(value, path)));
}

/** ISO-8601 date and time as the contract sends them. */
export const isoTime: Schema<string> = string({
  min: 10,
  max: 40,
  pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
  expected: 'an ISO-8601 time',
});

export function array<T>(item: Schema<T>, options: { min?: number; max?: number } = {}): Schema<T[]> {
  const { min = 0, max = 1_000_000 } = options;
  return schema(`a list of ${item.expected}`, (value, path) => {
    if (!Array.isArray(value)) fail(path, `expected a list, got ${describe(value)}`);
    if (value.length < min) fail(path, min === 1 ? 'must not be empty' : `must hold at least ${min} items`);
    if (value.length > max) fail(path, `must hold at most ${max} items`);
    return value.map((v: unknown, i) => item.parse(v, `${path}[${i}]`));
  });
}

/** Marks an object member that may be absent (or undefined). */
export interface Optional<T> extends Schema<T | undefined> {
  readonly optional: true;
}

export function optional<T>(inner: Schema<T>): Optional<T> {
  return {
    optional: true,
    expected: inner.expected,
    parse: (value, path = '') => (value === undefined ? undefined : inner.parse(value, path)),
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends Optional<unknown> ? K : never }[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] };
export type ObjectOf<S extends Shape> = Flatten<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * An object of exactly these members. `unknownKeys: 'reject'` (requests) refuses members
 * the shape does not name; 'drop' (responses) leaves them out of the result. Either way the
 * result is a fresh object holding only the named members.
 */
export function object<S extends Shape>(shape: S, unknownKeys: 'reject' | 'drop'): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape);
  return schema(`an object with ${keys.join(', ') || 'no members'}`, (value, path) => {
    if (!isPlainObject(value)) fail(path, `expected an object, got ${describe(value)}`);
    if (unknownKeys === 'reject') {
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(shape, key)) fail(path, `unknown member '${key.slice(0, 40)}'`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const member = shape[key] as Schema<unknown>;
      const parsed = member.parse(Object.hasOwn(value, key) ? value[key] : undefined, path ? `${path}.${key}` : key);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as ObjectOf<S>;
  });
}

/** No payload: undefined (or null, which JSON and some callers send for "nothing"). */
export const nothing: Schema<void> = schema('no payload', (value, path) => {
  if (value !== undefined && value !== null) fail(path, `expected no payload, got ${describe(value)}`);
  return undefined;
});

// ---------------------------------------------------------------------------------------
// The contract's data, as schemas (checked against src/shared/api.ts by the compiler below)

const count = integer();
const bytes = integer();
const label = string({ max: 1024 });

/** A passphrase: any characters, bounded so a request cannot make the KDF hash megabytes. */
export const passphrase = string({ min: 1, max: 1024, control: true, expected: 'a passphrase' });
export const recoveryCode = string({ min: 1, max: 256, expected: 'a recovery code' });
/** A file's name in the vault. */
export const fileName = string({ min: 1, max: 1024, expected: 'a file name' });
/** A path on the machine that runs the engine. */
export const hostPath = string({ min: 1, max: 4096, expected: 'a path' });
/** A location's name in the vault (the SPEC's #NAME, or the name the engine gave it). */
export const locationName = string({
  min: 1,
  max: 64,
  pattern: LOCATION_NAME,
  expected: `a location name (${LOCATION_NAME_RULE})`,
});
/** A location's failure domain ('' in a request: none). */
export const locationDomain = string({
  min: 1,
  max: 64,
  pattern: LOCATION_DOMAIN,
  expected: `a domain (${LOCATION_DOMAIN_RULE})`,
});
/** A domain as a form gives it: '' for none (the engine trims and checks it, domains.ts readDomain). */
const domainGiven = string({ max: 64 });
/** An SSH host key fingerprint as `ssh-keygen -lf` prints it. */
export const hostKeyFingerprint = string({
  min: 1,
  max: 128,
  pattern: /^SHA256:[A-Za-z0-9+/]{43}$/,
  expected: 'a host key fingerprint (SHA256: and 43 base64 characters)',
});

const fieldText = string({ max: 4096, expected: 'text' });
const secretText = string({ max: 1024, expected: 'a secret' });

/**
 * A location as a form gives it (src/shared/location-kinds.ts LocationInput): its kind, and
 * that kind's fields and secrets by name, any other member refused. Never a SPEC: a secret
 * does not cross a bridge inside a URL.
 */
export const locationInput: Schema<LocationInput> = schema('a location (kind, fields, secrets)', (value, path) => {
  const at = (member: string): string => (path ? `${path}.${member}` : member);
  if (!isPlainObject(value)) fail(path, `expected a location (kind, fields, secrets), got ${describe(value)}`);
  const kind = oneOf(LOCATION_KIND_NAMES).parse(value['kind'], at('kind'));
  const members = (secret: boolean, text: Schema<string>): Shape =>
    Object.fromEntries(fieldNames(kind, secret).map((name) => [name, optional(text)]));
  return object(
    {
      kind: oneOf([kind]),
      name: optional(locationName),
      fields: object(members(false, fieldText), 'reject'),
      secrets: optional(object(members(true, secretText), 'reject')),
      hostKey: optional(hostKeyFingerprint),
    },
    'reject',
  ).parse(value, path) as LocationInput;
});

export const vaultSummary: Schema<VaultSummary> = object(
  {
    id: string({ min: 1, max: 256 }),
    data: count,
    total: count,
    threshold: count,
    replicas: count,
    segmentSize: bytes,
    fingerprint: nullable(string({ min: 1, max: 64 })),
  },
  'drop',
);

export const recoveryKit: Schema<RecoveryKit> = object(
  { vault: vaultSummary, recoveryCode: string({ min: 1, max: 256 }), locations: array(label, { max: 64 }) },
  'drop',
);

export const nodeHealth: Schema<NodeHealth> = object(
  {
    index: nullable(integer({ min: 1, max: 255 })),
    shareVerified: nullable(boolean),
    logLength: nullable(count),
    problem: nullable(string({ max: 2048, control: true })),
  },
  'drop',
);

/** A device's guard key: 32 bytes as 43 base64url characters (docs/GUARD.md). */
export const guardDeviceKey = string({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]{43}$/, expected: 'a device key' });

export const guardStatus: Schema<GuardStatus> = object(
  {
    threshold: integer({ min: 1, max: 255 }),
    nodes: integer({ max: 255 }),
    enrolled: integer({ max: 255 }),
    ready: integer({ max: 255 }),
    approvals: integer({ max: 255 }),
    guardians: integer({ max: 255 }),
    guardian: boolean,
    device: nullable(guardDeviceKey),
    guardianKeys: array(guardDeviceKey, { max: 255 }),
    reshare: boolean,
  },
  'drop',
);

export const guardReshareReport: Schema<GuardReshareReport> = object(
  {
    changed: boolean,
    nodes: array(label, { max: 64 }),
    warnings: array(string({ max: 2048 }), { max: 64 }),
  },
  'drop',
);

/** A guard request's id: 32 hex digits (docs/GUARD.md). */
export const guardRequestId = string({ min: 32, max: 32, pattern: /^[0-9a-f]{32}$/, expected: 'a request id' });

export const guardRequest: Schema<GuardRequest> = object(
  {
    id: guardRequestId,
    file: fileName,
    device: label,
    time: isoTime,
    approvals: integer({ max: 255 }),
    needed: integer({ max: 255 }),
    denied: boolean,
    nodes: array(label, { max: 64 }),
    mine: boolean,
    deviceKey: guardDeviceKey,
  },
  'drop',
);

export const locationStatus: Schema<LocationStatus> = object(
  {
    name: label,
    kind: oneOf(LOCATION_KIND_NAMES),
    display: label,
    reachable: boolean,
    latencyMs: nullable(number()),
    freeBytes: nullable(number()),
    shards: nullable(count),
    staged: count,
    lastSeen: nullable(isoTime),
    error: nullable(string({ max: 2048, control: true })),
    warning: nullable(string({ max: 2048, control: true })),
    signIn: nullable(
      object(
        {
          user: nullable(label),
          host: label,
          port: nullable(integer({ min: 1, max: 65535 })),
          path: string({ max: 4096 }),
          keyFile: nullable(string({ max: 4096 })),
          hostKey: nullable(hostKeyFingerprint),
        },
        'drop',
      ),
    ),
    domain: nullable(locationDomain),
    node: nullable(nodeHealth),
  },
  'drop',
);

export const policyJobStatus: Schema<PolicyJobStatus> = object(
  {
    started: isoTime,
    files: count,
    filesDone: count,
    bytes: integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    bytesDone: integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    data: integer({ min: 1, max: 255 }),
    total: integer({ min: 1, max: 255 }),
    threshold: integer({ min: 1, max: 255 }),
  },
  'drop',
);

export const statusReport: Schema<StatusReport> = object(
  {
    vault: vaultSummary,
    locked: boolean,
    locations: array(locationStatus),
    damaged: count,
    happy: count,
    policyJob: nullable(policyJobStatus),
    domainWarnings: array(string({ max: 2048 }), { max: 128 }),
    guard: nullable(guardStatus),
  },
  'drop',
);

export const kitFacts: Schema<KitFacts> = object(
  {
    vaultId: string({ min: 1, max: 256 }),
    fingerprint: nullable(string({ min: 1, max: 64 })),
    made: isoTime,
    data: count,
    total: count,
    threshold: count,
    replicas: count,
    survives: count,
    survivesDomains: nullable(count),
    locations: array(
      object(
        { name: label, kind: oneOf(LOCATION_KIND_NAMES), display: label, domain: nullable(locationDomain) },
        'drop',
      ),
      { max: 64 },
    ),
    recoveryCode: nullable(recoveryCode),
  },
  'drop',
);

export const locationProbe: Schema<LocationProbe> = object(
  { kind: oneOf(LOCATION_KIND_NAMES), display: label, hostKey: nullable(hostKeyFingerprint) },
  'drop',
);

export const locationTest: Schema<LocationTest> = object(
  {
    name: label,
    reachable: boolean,
    latencyMs: nullable(number()),
    freeBytes: nullable(number()),
    roundTripMs: nullable(number()),
    error: nullable(string({ max: 2048, control: true })),
  },
  'drop',
);

export const HEALTHS = every<Health>()(['healthy', 'degraded', 'unreachable', 'lost']);
const health = oneOf(HEALTHS);
const survives = integer({ min: -1 });

export const fileEntry: Schema<FileEntry> = object(
  {
    name: fileName,
    size: bytes,
    sha256: string({ max: 128 }),
    created: isoTime,
    health,
    survives,
    awaiting: array(label),
    signIn: array(label),
    guarded: boolean,
  },
  'drop',
);

/** The most files one folder upload (putTree, putTreeStream) may hold. */
export const MAX_TREE_FILES = 100_000;

export const folderReport: Schema<FolderReport> = object(
  {
    name: fileName,
    files: count,
    folders: count,
    bytes,
    survives,
    awaiting: array(label),
    signIn: array(label),
  },
  'drop',
);

export const SHARD_STATES = every<ShardState>()(['ok', 'missing', 'corrupt', 'offline']);
const shardState = oneOf(SHARD_STATES);

export const placementReport: Schema<PlacementReport> = object(
  {
    name: fileName,
    shards: array(
      object(
        {
          index: count,
          locations: array(object({ name: label, state: shardState, stagedFor: optional(label) }, 'drop')),
        },
        'drop',
      ),
    ),
  },
  'drop',
);

export const verifyReport: Schema<VerifyReport> = object(
  {
    ok: boolean,
    files: array(object({ name: fileName, health, survives }, 'drop')),
    problems: array(
      object(
        {
          file: string({ max: 1024 }),
          shard: nullable(count),
          location: label,
          kind: oneOf([...SHARD_STATES, 'manifest']),
        },
        'drop',
      ),
    ),
  },
  'drop',
);

export const repairReport: Schema<RepairReport> = object(
  {
    ok: boolean,
    files: array(object({ name: fileName, before: health, after: health, survives, rebuilt: count }, 'drop')),
    keyShares: oneOf(every<RepairReport['keyShares']>()(['current', 'redealt', 'partial'])),
    moved: count,
    replaced: count,
    manifestsWritten: count,
    collected: count,
    pending: array(string({ max: 2048, control: true })),
  },
  'drop',
);

export const policyChangeReport: Schema<PolicyChangeReport> = object(
  {
    data: integer({ min: 1, max: 255 }),
    total: integer({ min: 1, max: 255 }),
    threshold: integer({ min: 1, max: 255 }),
    rotated: boolean,
    files: count,
    bytes: integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    left: count,
  },
  'drop',
);

export const passphraseChangeReport: Schema<PassphraseChangeReport> = object(
  { reached: array(label), away: array(label), retired: boolean, newRecoveryCode: boolean },
  'drop',
);

export const driveInfo: Schema<DriveInfo> = object(
  {
    url: string({
      max: 128,
      pattern: /^http:\/\/shardvault:[A-Za-z0-9]{32}@127\.0\.0\.1:\d{1,5}\/$/,
      expected: 'a drive URL',
    }),
    address: string({ max: 64, pattern: /^http:\/\/127\.0\.0\.1:\d{1,5}\/$/, expected: 'a drive address' }),
    user: string({ min: 1, max: 64 }),
    password: string({ min: 32, max: 32, pattern: /^[A-Za-z0-9]{32}$/, expected: 'a drive password' }),
    port: integer({ min: 1, max: 65535 }),
  },
  'drop',
);

export const accessRequest: Schema<AccessRequest> = object(
  {
    time: isoTime,
    device: label,
    action: oneOf(ACCESS_ACTIONS),
    file: nullable(string({ max: 1024 })),
    detail: nullable(string({ max: 1024 })),
    outcome: oneOf(ACCESS_OUTCOMES),
    locations: array(label),
    anchored: boolean,
  },
  'drop',
);

export const drillReport: Schema<DrillReport> = object(
  {
    lost: array(label, { max: 64 }),
    unreachable: array(label, { max: 64 }),
    files: array(object({ name: fileName, health, survives }, 'drop')),
    lostFiles: array(fileName),
    unlock: object({ shares: count, threshold: count, heads: count, unlocks: boolean }, 'drop'),
    ok: boolean,
    open: nullable(
      object(
        { opened: boolean, read: count, tried: count, problems: array(string({ max: 2048, control: true })) },
        'drop',
      ),
    ),
  },
  'drop',
);

export const progressEvent: Schema<ProgressEvent> = object(
  {
    op: oneOf(every<ProgressEvent['op']>()(['put', 'get', 'verify', 'policy', 'approval'])),
    name: string({ max: 1024 }),
    done: number(),
    total: number(),
    files: optional(object({ done: count, total: count }, 'drop')),
  },
  'drop',
);

// ---------------------------------------------------------------------------------------
// Front-end settings and abilities the bridges add to the engine's API

export interface BridgeSettings {
  /** Lock the vault after this many minutes without use; 0 = never. */
  readonly autoLockMinutes: number;
}

export const AUTO_LOCK_CHOICES = [0, 1, 5, 10, 15, 30, 60] as const;
export const DEFAULT_AUTO_LOCK_MINUTES = 10;

export const bridgeSettings: Schema<BridgeSettings> = object({ autoLockMinutes: integer({ max: 24 * 60 }) }, 'drop');

// ---------------------------------------------------------------------------------------
// The calls

export interface Call<Req, Res> {
  /** Electron IPC channel. */
  readonly channel: string;
  /** Web bridge route (POST, JSON body). */
  readonly route: string;
  readonly request: Schema<Req>;
  readonly response: Schema<Res>;
  /** Only the desktop app offers it (native dialogs); the web bridge answers 404. */
  readonly desktopOnly: boolean;
}

function call<Req, Res>(
  name: string,
  request: Schema<Req>,
  response: Schema<Res>,
  desktopOnly = false,
): Call<Req, Res> {
  return { channel: `shardvault:${name}`, route: `/api/${name}`, request, response, desktopOnly };
}

/** The engine calls that cross a bridge: all of ShardvaultApi but putStream and putTreeStream
 * (the web bridge's upload routes carry them) and onProgress (pushed as an event). */
export type EngineCallName = Exclude<keyof ShardvaultApi, StreamCallName | 'onProgress'>;
/** The calls that take a byte stream besides their request (the web bridge's upload routes
 * carry them; the engine host relays their bytes). */
export type StreamCallName = 'putStream' | 'putTreeStream';
type RequestOf<M extends EngineCallName> = Parameters<ShardvaultApi[M]> extends [infer R] ? R : void;
type ResponseOf<M extends EngineCallName> = Awaited<ReturnType<ShardvaultApi[M]>>;

const engineCalls: { readonly [M in EngineCallName]: Call<RequestOf<M>, ResponseOf<M>> } = {
  status: call('status', nothing, nullable(statusReport)),
  createVault: call(
    'createVault',
    object(
      {
        locations: array(locationInput, { min: 1, max: 64 }),
        survive: integer({ max: 63 }),
        secretAgainst: integer({ max: 63 }),
        passphrase,
        allowWeakPassphrase: optional(boolean),
        allowInsecureHttp: optional(boolean),
        domains: optional(array(domainGiven, { max: 64 })),
      },
      'reject',
    ),
    vaultSummary,
  ),
  policyPreview: call(
    'policyPreview',
    object(
      {
        locations: array(object({ name: string({ max: 64 }), domain: domainGiven }, 'reject'), { max: 64 }),
        survive: integer({ max: 63 }),
        secretAgainst: integer({ max: 63 }),
      },
      'reject',
    ),
    object(
      {
        data: integer({ max: 255 }),
        total: integer({ max: 255 }),
        threshold: integer({ max: 255 }),
        problem: nullable(string({ max: 2048 })),
        domainWarnings: array(string({ max: 2048 }), { max: 128 }),
      },
      'reject',
    ),
  ),
  recoveryKit: call('recoveryKit', nothing, nullable(recoveryKit)),
  confirmRecoveryKit: call('confirmRecoveryKit', nothing, nothing),
  openVault: call(
    'openVault',
    object(
      {
        locations: array(locationInput, { min: 1, max: 64 }),
        passphrase: optional(passphrase),
        recoveryCode: optional(recoveryCode),
        expectFingerprint: optional(string({ min: 1, max: 64, expected: 'a vault key fingerprint' })),
        allowWeakPassphrase: optional(boolean),
        allowInsecureHttp: optional(boolean),
      },
      'reject',
    ),
    vaultSummary,
  ),
  unlock: call('unlock', object({ passphrase, oldPassphrase: optional(passphrase) }, 'reject'), nothing),
  lock: call('lock', nothing, nothing),
  listFiles: call('listFiles', nothing, array(fileEntry)),
  putFile: call(
    'putFile',
    object(
      {
        path: hostPath,
        name: optional(fileName),
        replace: optional(boolean),
        survive: optional(integer({ max: 254 })),
        happy: optional(integer({ min: 1, max: 64 })),
        guarded: optional(boolean),
      },
      'reject',
    ),
    fileEntry,
  ),
  putTree: call(
    'putTree',
    object(
      {
        name: fileName,
        replace: optional(boolean),
        files: array(object({ name: fileName, path: optional(hostPath) }, 'reject'), { max: MAX_TREE_FILES }),
        survive: optional(integer({ max: 254 })),
        happy: optional(integer({ min: 1, max: 64 })),
      },
      'reject',
    ),
    folderReport,
  ),
  getFile: call('getFile', object({ name: fileName, output: hostPath, force: optional(boolean) }, 'reject'), nothing),
  removeFile: call('removeFile', object({ name: fileName }, 'reject'), nothing),
  removeFolder: call('removeFolder', object({ name: fileName }, 'reject'), nothing),
  moveName: call(
    'moveName',
    object({ from: fileName, to: fileName }, 'reject'),
    object({ from: fileName, to: fileName, files: count }, 'drop'),
  ),
  placement: call('placement', object({ name: fileName }, 'reject'), placementReport),
  verify: call('verify', object({ deep: boolean }, 'reject'), verifyReport),
  accessLog: call('accessLog', nothing, array(accessRequest)),
  guardRequests: call('guardRequests', nothing, array(guardRequest, { max: 1000 })),
  answerGuardRequest: call(
    'answerGuardRequest',
    object({ id: guardRequestId, approve: boolean }, 'reject'),
    guardRequest,
  ),
  reshareGuard: call('reshareGuard', nothing, guardReshareReport),
  changeGuardian: call(
    'changeGuardian',
    object({ op: oneOf(['add', 'remove']), device: guardDeviceKey }, 'reject'),
    object({ guardians: count, approvals: count }, 'drop'),
  ),
  repair: call('repair', object({ deep: boolean }, 'reject'), repairReport),
  probeLocation: call('probeLocation', object({ location: locationInput }, 'reject'), locationProbe),
  addLocation: call(
    'addLocation',
    object(
      {
        location: locationInput,
        hostKey: optional(hostKeyFingerprint),
        allowInsecureHttp: optional(boolean),
        domain: optional(domainGiven),
      },
      'reject',
    ),
    nothing,
  ),
  editLocation: call(
    'editLocation',
    object(
      {
        name: locationName,
        newName: optional(locationName),
        location: optional(locationInput),
        hostKey: optional(hostKeyFingerprint),
        allowInsecureHttp: optional(boolean),
        domain: optional(domainGiven),
      },
      'reject',
    ),
    nothing,
  ),
  kitFacts: call('kitFacts', nothing, kitFacts),
  removeLocation: call('removeLocation', object({ name: locationName, untrusted: boolean }, 'reject'), nothing),
  testLocation: call('testLocation', object({ name: locationName }, 'reject'), locationTest),
  checkFolder: call(
    'checkFolder',
    object({ location: locationInput, create: optional(boolean) }, 'reject'),
    object(
      {
        display: label,
        state: oneOf(['present', 'missing', 'created', 'unreachable', 'server'] as const),
        error: nullable(string({ max: 2048, control: true })),
      },
      'drop',
    ),
  ),
  signInLocation: call(
    'signInLocation',
    object({ name: locationName, password: optional(passphrase), keyPassphrase: optional(passphrase) }, 'reject'),
    nothing,
  ),
  drill: call(
    'drill',
    object({ lose: array(locationName, { max: 64 }), passphrase: optional(passphrase) }, 'reject'),
    drillReport,
  ),
  changePassphrase: call(
    'changePassphrase',
    object(
      {
        passphrase,
        newPassphrase: passphrase,
        newRecoveryCode: optional(boolean),
        allowWeakPassphrase: optional(boolean),
      },
      'reject',
    ),
    passphraseChangeReport,
  ),
  startDrive: call('startDrive', nothing, driveInfo),
  stopDrive: call('stopDrive', nothing, nothing),
  driveStatus: call('driveStatus', nothing, nullable(driveInfo)),
  changePolicy: call(
    'changePolicy',
    object({ survive: integer({ max: 254 }), secretAgainst: integer({ min: 1, max: 254 }) }, 'reject'),
    policyChangeReport,
  ),
};

/** The most files one open dialog may hand over. */
export const MAX_PICKED_FILES = 10_000;

const frontEndCalls = {
  getSettings: call('getSettings', nothing, bridgeSettings),
  setSettings: call(
    'setSettings',
    object({ autoLockMinutes: optional(integer({ max: 24 * 60 })) }, 'reject'),
    bridgeSettings,
  ),
  /** The user did something in the UI: postpones the auto-lock. */
  activity: call('activity', nothing, nothing),
  /** The page on screen (the recovery kit) as a PDF, to a path the user picks; false when cancelled. */
  printToPdf: call('printToPdf', object({ name: fileName }, 'reject'), boolean, true),
  /** Native folder dialog: a local-folder location. */
  chooseFolder: call('chooseFolder', nothing, nullable(hostPath), true),
  /** Native save dialog for an export. The desktop app accepts getFile only to a path the
   * user picked here, so a compromised renderer cannot write where it likes. */
  chooseSavePath: call('chooseSavePath', object({ name: fileName }, 'reject'), nullable(hostPath), true),
  /** Native open dialog: files to store ([] when cancelled). The desktop app accepts putFile
   * only for a path picked here or a file dropped on the window (preloadCalls.offerFile), so a
   * compromised renderer cannot store (and then read back) a file the user never chose. */
  chooseFiles: call('chooseFiles', nothing, array(hostPath, { max: MAX_PICKED_FILES }), true),
  /** Opens a file with the OS's default application: main exports it, verified, to a private
   * temporary folder (wiped when the vault locks or the app quits). The web UI downloads instead. */
  openFile: call('openFile', object({ name: fileName }, 'reject'), nothing, true),
} as const;

export const calls = { ...engineCalls, ...frontEndCalls } as const;
/** The calls each front end serves straight from the engine (src/shared/dispatch.ts). */
export const engineCallNames = Object.keys(engineCalls) as EngineCallName[];
export type Calls = typeof calls;
export type CallName = keyof Calls;
export type CallRequest<N extends CallName> = Infer<Calls[N]['request']>;
export type CallResponse<N extends CallName> = Infer<Calls[N]['response']>;

export const callNames = Object.keys(calls) as CallName[];

/**
 * Calls the desktop preload makes with values it derived itself, never exposed to the page as
 * they are: `offerFile` carries the path Electron's webUtils found for a File object the user
 * dropped (a page cannot make a File for a path it names), and main accepts that path for one
 * putFile. The page reaches it only through the preload's `offerFile(file)`.
 */
export const preloadCalls = {
  offerFile: call('offerFile', object({ path: hostPath }, 'reject'), hostPath, true),
} as const;

/** Everything Electron's main process serves: the page's calls and the preload's own. */
export const mainCalls = { ...calls, ...preloadCalls } as const;
export type MainCalls = typeof mainCalls;
export type MainCallName = keyof MainCalls;
export type MainCallRequest<N extends MainCallName> = Infer<MainCalls[N]['request']>;
export type MainCallResponse<N extends MainCallName> = Infer<MainCalls[N]['response']>;

/** Calls a UI makes on its own (refreshing a view): they do not postpone the auto-lock. */
export const passiveCalls: ReadonlySet<CallName> = new Set<CallName>([
  'status',
  'policyPreview',
  'recoveryKit',
  'kitFacts',
  'listFiles',
  'accessLog',
  'guardRequests',
  'placement',
  'getSettings',
  'driveStatus',
]);

/** The call a channel or route names, or undefined (the bridges refuse it). */
export function callByChannel(channel: string): CallName | undefined {
  return callNames.find((name) => calls[name].channel === channel);
}
export function callByRoute(route: string): CallName | undefined {
  return callNames.find((name) => calls[name].route === route);
}

// ---------------------------------------------------------------------------------------
// Events pushed to the UI

export const events = {
  progress: { channel: 'shardvault:event:progress', name: 'progress', payload: progressEvent },
  /** The vault was locked (auto-lock or another window): the UI drops its state. */
  locked: { channel: 'shardvault:event:locked', name: 'locked', payload: nothing },
} as const;

// ---------------------------------------------------------------------------------------
// What the renderer sees as `window.shardvault`

type RawCall<N extends CallName> =
  CallRequest<N> extends void
    ? () => Promise<Envelope<CallResponse<N>>>
    : (request: CallRequest<N>) => Promise<Envelope<CallResponse<N>>>;

/**
 * The object a bridge hands the UI: the preload's `window.shardvault` on the desktop, the
 * web client in a browser. Every call answers an Envelope; the renderer turns it into a
 * value or a thrown error in one place. Desktop-only calls are absent in web mode.
 */
export type ShardvaultBridge = { readonly [N in Exclude<CallName, DesktopCallName>]: RawCall<N> } & {
  readonly [N in DesktopCallName]?: RawCall<N>;
} & {
  readonly mode: 'desktop' | 'web';
  onProgress(listener: (event: ProgressEvent) => void): () => void;
  onLocked(listener: () => void): () => void;
  /** Desktop only: hands main a File the user dropped on the window (its path found by
   * Electron's webUtils in the preload), good for one putFile; answers that path. */
  offerFile?(file: unknown): Promise<Envelope<string>>;
};

export type DesktopCallName = {
  [N in CallName]: Calls[N]['desktopOnly'] extends true ? N : never;
}[CallName];

/** Every call as a function answering what `invoke` answers for its name: the preload's
 * ipcRenderer, the web client's fetch. In web mode the desktop-only calls are left out. */
export function bindCalls(invoke: (name: CallName, request: unknown) => Promise<Envelope<unknown>>): {
  readonly [N in CallName]: RawCall<N>;
};
export function bindCalls(
  invoke: (name: CallName, request: unknown) => Promise<Envelope<unknown>>,
  mode: 'web',
): { readonly [N in Exclude<CallName, DesktopCallName>]: RawCall<N> };
export function bindCalls(
  invoke: (name: CallName, request: unknown) => Promise<Envelope<unknown>>,
  mode?: 'web',
): Record<string, unknown> {
  const bound: Record<string, (request?: unknown) => Promise<Envelope<unknown>>> = {};
  for (const name of callNames) {
    if (mode === 'web' && calls[name].desktopOnly) continue;
    bound[name] = (request?: unknown) => invoke(name, request);
  }
  return bound;
}

// ---------------------------------------------------------------------------------------
// The web bridge's own routes (besides calls[*].route)

export const web = {
  /** PUT, the file's bytes as the body; query: name, replace=1, survive=X, happy=N, guarded=1.
   * Streams into putStream. */
  upload: '/api/upload',
  /** PUT, a folder in one body: its head's length in bytes (u32, big-endian), the head (JSON,
   * folderUploadRequest, at most maxFolderHeadBytes), then every listed file's bytes one after
   * the other in the head's order. Streams into putTreeStream: one commit for the folder. */
  uploadFolder: '/api/upload-folder',
  /** Largest folder upload head: a list of MAX_TREE_FILES names of some length. */
  maxFolderHeadBytes: 32 * 2 ** 20,
  /** POST {name}: the engine writes the verified file to a private temporary folder and the
   * answer is {url}, a one-time download of it (web.download + a random ticket). */
  exportFile: '/api/export',
  /** GET, no token header (a browser download cannot send one): the ticket in the path is the
   * credential; good once, for a minute. The file is deleted once served. */
  download: '/api/download/',
  /** GET, Server-Sent Events: `progress` and `locked`. */
  events: '/api/events',
  /** The token, sent on every API request (never in a URL but the first one). */
  tokenHeader: 'x-shardvault-token',
  /** Largest JSON request body. */
  maxJsonBytes: 64 * 1024,
} as const;

export const exportRequest = object({ name: fileName }, 'reject');
export const downloadTicket = object(
  { url: string({ min: 1, max: 128, pattern: /^\/api\/download\/[A-Za-z0-9_-]{43}$/, expected: 'a download URL' }) },
  'drop',
);

export const uploadRequest = object(
  {
    name: fileName,
    replace: optional(boolean),
    survive: optional(integer({ max: 254 })),
    happy: optional(integer({ min: 1, max: 64 })),
    guarded: optional(boolean),
  },
  'reject',
);
export type UploadRequest = Infer<typeof uploadRequest>;

/** A folder upload's head (web.uploadFolder): the folder, the options, and its files in the
 * order their bytes follow. */
export const folderUploadRequest = object(
  {
    name: fileName,
    replace: optional(boolean),
    survive: optional(integer({ max: 254 })),
    happy: optional(integer({ min: 1, max: 64 })),
    files: array(object({ name: fileName, size: bytes }, 'reject'), { max: MAX_TREE_FILES }),
  },
  'reject',
);
export type FolderUploadRequest = Infer<typeof folderUploadRequest>;
