/**
 * Every error code Shardvault answers with, defined once: the engine's own (src/core/errors.ts
 * throws them), and the few the bridges add. Each code carries its CLI exit status (the CLI
 * contract in README.md) and the HTTP status the web bridge answers with. The tables are typed
 * `Record<code, …>`, so a new code that forgets a column does not compile.
 *
 * Plain TypeScript: no Node, no DOM (the layer rule in eslint.config.js).
 */

interface CodeInfo {
  /** What the code means, for a reader of the code and of the CLI's docs. */
  readonly meaning: string;
  /** HTTP status of the web bridge's answer (`shardvault serve`). */
  readonly http: number;
}

/** Codes the engine throws (ShardvaultError.code); a message with one was written for the user. */
export const ENGINE_ERRORS = {
  usage: { exit: 2, http: 400, meaning: 'the caller asked for something malformed' },
  'weak-passphrase': {
    exit: 2,
    http: 422,
    meaning: 'a new passphrase is too easy to guess (crypto/passphrase-strength.ts)',
  },
  auth: { exit: 3, http: 403, meaning: 'wrong passphrase or recovery code, or none given' },
  unavailable: { exit: 4, http: 503, meaning: 'not enough locations reachable to do the work' },
  busy: { exit: 5, http: 409, meaning: 'another process holds the profile' },
  verify: { exit: 6, http: 422, meaning: 'verify found a problem' },
  approval: { exit: 7, http: 403, meaning: "a guarded file's opening waits for guardian approvals, or was denied" },
  'not-found': { exit: 1, http: 404, meaning: 'a named thing does not exist' },
  exists: { exit: 1, http: 409, meaning: 'a named thing exists and the caller did not ask to replace it' },
  corrupt: { exit: 1, http: 500, meaning: 'bytes from a location failed a check (tag, hash, length, format)' },
  policy: { exit: 1, http: 422, meaning: 'the redundancy policy cannot be honoured by the locations' },
  offline: { exit: 1, http: 503, meaning: 'a single location cannot be reached right now (transient)' },
  permission: { exit: 1, http: 500, meaning: 'a location refused access (credentials, permissions)' },
  'no-space': { exit: 1, http: 507, meaning: 'a location is full' },
  rollback: { exit: 1, http: 409, meaning: 'a location served state older than this profile has seen' },
  io: { exit: 1, http: 500, meaning: 'anything else from the operating system' },
} as const satisfies Record<string, CodeInfo & { readonly exit: number }>;

/** Codes the bridges add to the engine's own (the envelope's error, never thrown by the engine). */
export const BRIDGE_ERRORS = {
  'bad-request': { http: 400, meaning: 'a request failed its schema (src/shared/ipc.ts)' },
  forbidden: { http: 403, meaning: 'the web bridge refused the caller (token, Host, Origin)' },
  'unknown-call': { http: 404, meaning: 'no such call on this bridge' },
  unsupported: { http: 500, meaning: 'this front end does not offer the call (a desktop-only call on the web)' },
  cancelled: { http: 499, meaning: 'the user cancelled an upload (made by the web client; the server never sends it)' },
  internal: { http: 500, meaning: 'anything else; the details are in the log, not the message' },
} as const satisfies Record<string, CodeInfo>;

export type EngineErrorCode = keyof typeof ENGINE_ERRORS;
export type BridgeErrorCode = keyof typeof BRIDGE_ERRORS;
/** Any code a bridge envelope can carry. */
export type ErrorCode = EngineErrorCode | BridgeErrorCode;

export const ENGINE_ERROR_CODES = Object.keys(ENGINE_ERRORS) as readonly EngineErrorCode[];
export const BRIDGE_ERROR_CODES = Object.keys(BRIDGE_ERRORS) as readonly BridgeErrorCode[];

const own = (table: object, code: unknown): boolean =>
  typeof code === 'string' && Object.prototype.hasOwnProperty.call(table, code);

export function isEngineErrorCode(code: unknown): code is EngineErrorCode {
  return own(ENGINE_ERRORS, code);
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return own(ENGINE_ERRORS, code) || own(BRIDGE_ERRORS, code);
}

/** Exit status of the CLI for an engine error code. */
export function exitCodeFor(code: EngineErrorCode): number {
  return ENGINE_ERRORS[code].exit;
}

/** HTTP status the web bridge answers a failure with. */
export function httpStatusFor(code: ErrorCode): number {
  return isEngineErrorCode(code) ? ENGINE_ERRORS[code].http : BRIDGE_ERRORS[code].http;
}

export function assertNever(value: never, what = 'value'): never {
  throw new TypeError(`unexpected ${what}: ${String(value)}`);
}
