/** The folder kind: a path on this machine (a disk, a mounted share, a synced folder). */
import * as nodePath from 'node:path';
import { LocalFolderNode } from '../local';
import { UsageError } from '../../errors';
import type { StorageNode } from '../node';
import { type LocationKind, required } from './kind';
import { splitName } from './name';

/** A folder on this machine answers or fails at once: nothing to retry or bound. */
const compose = (node: StorageNode): StorageNode => node;

export const local = {
  name: 'local',
  schemes: [],
  capabilities: { createRoot: 'ask', pinsHostKey: false },
  conformance: ['test/conformance/local.test.ts'],
  parse(spec) {
    const { body, name } = splitName(spec);
    // `#NAME` alone (a SPEC a script built from an empty variable) must not mean the folder
    // the command runs in: a folder location is always named by a path.
    if (body.trim() === '') throw new UsageError(`${JSON.stringify(spec)} names no folder: give its path before '#'`);
    const path = nodePath.resolve(body);
    return { name, spec: path, secrets: null, display: path };
  },
  fromFields(fields, name) {
    const folder = required(fields, 'folder', 'Folder');
    if (!nodePath.isAbsolute(folder)) throw new UsageError(`Folder: give the full path (${folder} is not one)`);
    if (name !== null) splitName(`#${name}`);
    const path = nodePath.resolve(folder);
    return { name, spec: path, secrets: null, display: path };
  },
  display: (spec) => spec,
  open: (spec) => compose(new LocalFolderNode(spec)),
  compose,
  needsCredentials: () => false,
  signInAddress: () => null,
} satisfies LocationKind;
