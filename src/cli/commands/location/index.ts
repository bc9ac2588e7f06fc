/** `shardvault location ...`: the vault's locations, a file per subcommand (edit and login share one). */
import { usageError, type Command } from '../../command';
import { add } from './add';
import { edit, login } from './edit';
import { list } from './list';
import { remove } from './remove';
import { test } from './test';

/** In the order help and the usage error list them. */
const subcommands: readonly Command[] = [add, list, edit, login, remove, test];

export const location: Command = {
  name: 'location',
  usage: subcommands.map((s) => s.name.slice('location '.length) + (s.usage ? ` ${s.usage}` : '')).join(' | '),
  summary: "the vault's locations",
  subcommands,
  run(args, io) {
    const [word, ...rest] = args.positional;
    const sub = subcommands.find((s) => s.name === `location ${word ?? ''}`);
    if (!sub) throw usageError(location);
    return sub.run({ ...args, positional: rest }, io);
  },
};
