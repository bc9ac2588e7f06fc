/** `shardvault demo`: a demo vault over temporary folders (../demo.ts). */
import { byteSize } from '../args';
import type { Command } from '../command';
import { runDemo } from '../demo';

export const demo: Command = {
  name: 'demo',
  usage: '[--size BYTES] [--keep]',
  summary: 'a demo vault over temporary folders',
  run(args, io) {
    // Extra arguments are ignored here, as they always were.
    return runDemo({ size: byteSize(args, 'size'), keep: args.flags.has('keep'), json: io.json });
  },
};
