/** `shardvault location ...`: the vault's locations, a file per subcommand (edit and login share one). */
import { parentCommand, type Command } from '../../command';
import { add } from './add';
import { edit, login } from './edit';
import { list } from './list';
import { remove } from './remove';
import { test } from './test';

/** In the order help and the usage error list them. */
const subcommands: readonly Command[] = [add, list, edit, login, remove, test];

export const location: Command = parentCommand('location', "the vault's locations", subcommands);
