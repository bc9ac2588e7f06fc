/** `shardvault demo`: a demo vault over temporary folders (../demo.ts). */
import { byteSize } from '../args';
import type { Run } from '../command';
import { runDemo } from '../demo';

export const demo: Run = (args, io) => {
  // Extra arguments are ignored here, as they always were.
  return runDemo({ size: byteSize(args, 'size'), keep: args.flags.has('keep'), json: io.json });
};
