/** The folder kind: a path on this machine (a disk, a mounted share, a synced folder). */
import * as nodePath from 'node:path';
import { LocalFolderNode } from '../local';
import type { LocationKind } from './kind';
import { splitName } from './name';

export const local = {
  name: 'local',
  schemes: [],
  capabilities: { createRoot: 'ask', pinsHostKey: false },
  conformance: ['test/conformance/local.test.ts'],
  parse(spec) {
    const { body, name } = splitName(spec);
    const path = nodePath.resolve(body);
    return { name, spec: path, secrets: null, display: path };
  },
  display: (spec) => spec,
  open: (spec) => new LocalFolderNode(spec),
} satisfies LocationKind;
