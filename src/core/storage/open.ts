/**
 * Turns a location SPEC (as the CLI and the UI take it) into a StorageNode.
 * Here: local folders (`/path/to/folder#NAME`). Remote kinds register in remote.ts.
 */
import * as nodePath from 'node:path';
import { UsageError } from '../errors';
import { LocalFolderNode } from './local';
import type { LocationKind, StorageNode } from './node';

export interface ParsedSpec {
  readonly kind: LocationKind;
  /** The name after '#', or null when none was given. */
  readonly name: string | null;
  /** The spec without its name and without secrets: what the profile stores. */
  readonly spec: string;
  /** Credentials to seal in the profile, or null. */
  readonly secrets: Record<string, string> | null;
  /** For people: no credentials. */
  readonly display: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function splitName(spec: string): { body: string; name: string | null } {
  const hash = spec.lastIndexOf('#');
  if (hash < 0) return { body: spec, name: null };
  const name = spec.slice(hash + 1);
  if (!NAME.test(name))
    throw new UsageError(`location name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-' (up to 64)`);
  return { body: spec.slice(0, hash), name };
}

export function parseSpec(spec: string): ParsedSpec {
  if (typeof spec !== 'string' || spec.trim() === '') throw new UsageError('a location needs a folder path or URL');
  const { body, name } = splitName(spec.trim());
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(body)) {
    throw new UsageError(`location ${JSON.stringify(body.split('://')[0])} URLs are not supported by this build`);
  }
  const path = nodePath.resolve(body);
  return { kind: 'local', name, spec: path, secrets: null, display: path };
}

export function createNode(
  parsed: Pick<ParsedSpec, 'kind' | 'spec'>,
  _secrets: Record<string, string> | null,
): StorageNode {
  switch (parsed.kind) {
    case 'local':
      return new LocalFolderNode(parsed.spec);
    case 'sftp':
    case 'webdav':
      throw new UsageError(`${parsed.kind} locations are not supported by this build`);
  }
}
