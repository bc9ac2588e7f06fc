/**
 * The location-kind registry: every kind the engine can reach, one entry each, keyed by the
 * list in src/shared/location-kinds.ts (the type makes a kind missing here, or here and not
 * there, a compile error). Adding a kind: docs/ARCHITECTURE.md, "Adding a location kind".
 */
import { UsageError } from '../../errors';
import type { LocationKindName } from '../../../shared/location-kinds';
import type { LocationKind } from './kind';
import { local } from './local';
import { node } from './node';
import { s3 } from './s3';
import { sftp } from './sftp';
import { webdav } from './webdav';

export type { LocationKind, LocationSecrets, NodeOptions, ParsedAddress } from './kind';
export { splitName } from './name';

export const KINDS: { readonly [K in LocationKindName]: LocationKind & { readonly name: K } } = {
  local,
  sftp,
  webdav,
  s3,
  node,
};

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** The kind a SPEC is written in: by its scheme, or the folder kind for a path. */
export function kindOfSpec(spec: string): LocationKind {
  const scheme = SCHEME.exec(spec)?.[1]?.toLowerCase();
  if (scheme === undefined) return KINDS.local;
  const kind = Object.values(KINDS).find((k) => k.schemes.includes(scheme));
  if (kind) return kind;
  const known = Object.values(KINDS).flatMap((k) => k.schemes);
  throw new UsageError(`unknown scheme ${JSON.stringify(scheme)} (expected ${known.join(', ')}, or a folder path)`);
}
