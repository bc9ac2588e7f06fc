/**
 * A new location receives a share of the vault key and shards: in the desktop app main asks
 * the user, in a dialog of its own, before the engine writes to one. The page has asked
 * already, in its form; main asks again because a page that ran code not ours could add a
 * server its author runs (the passphrase it saw typed plus the share stored there are the
 * vault: docs/SECURITY.md). The dialog names every place in main's words, from the very
 * request the engine will get, so a page can't show one address and send another.
 *
 * This file does not import electron (types aside), so a test can run it with stand-ins.
 */
import type { WebContents } from 'electron';
import type { LocationInput, ShardvaultApi } from '../shared/api';
import { LOCATION_KINDS, type LocationKindInfo } from '../shared/location-kinds';
import { ForbiddenError } from './errors';

/** A native question: true when the user chose `ok`. */
export type AskUser = (sender: WebContents, question: Question) => Promise<boolean>;

export interface Question {
  readonly message: string;
  readonly detail: string;
  readonly ok: string;
}

/** One location as the dialog names it: its kind and every address field the request gives (no secret). */
export function describeLocation(location: LocationInput): string {
  const info: LocationKindInfo = LOCATION_KINDS[location.kind];
  const fields: { label: string; value: string }[] = [];
  for (const f of info.fields) {
    const value = location.fields[f.name];
    if (f.secret !== true && f.generated !== true && typeof value === 'string' && value !== '')
      fields.push({ label: f.label, value });
  }
  const name = location.name ? `${location.name}, ` : '';
  // A folder is its path; a server its fields by name.
  const where =
    fields.length === 1 ? `: ${fields[0]!.value}` : ` (${fields.map((f) => `${f.label}: ${f.value}`).join(', ')})`;
  return `${name}${info.word}${where}`;
}

type Confirmed = Pick<ShardvaultApi, 'createVault' | 'addLocation' | 'editLocation'>;
type Handler<K extends keyof Confirmed> = (
  request: Parameters<Confirmed[K]>[0],
  sender: WebContents,
) => ReturnType<Confirmed[K]>;

/**
 * The engine's calls that send the vault's key shares to a place the request names, each run
 * only once the user has said yes to that place in `ask`; a no is `forbidden`, and the engine
 * never hears of the request.
 */
export function confirmedLocationHandlers(
  engine: Confirmed,
  ask: AskUser,
): { readonly [K in keyof Confirmed]: Handler<K> } {
  const confirm = async (sender: WebContents, question: Question): Promise<void> => {
    if (!(await ask(sender, question)))
      throw new ForbiddenError('Not confirmed: no location was added and nothing was stored.');
  };
  return {
    createVault: async (request, sender) => {
      await confirm(sender, {
        message: `Create a vault over ${request.locations.length === 1 ? 'this location' : `these ${request.locations.length} locations`}?`,
        detail: `Each will hold a share of the vault's key and shards of every file:\n\n${request.locations.map(describeLocation).join('\n')}`,
        ok: 'Create vault',
      });
      return engine.createVault(request);
    },
    addLocation: async (request, sender) => {
      await confirm(sender, {
        message: 'Add this location to the vault?',
        detail: `It will hold a share of the vault's key and shards of your files:\n\n${describeLocation(request.location)}`,
        ok: 'Add location',
      });
      return engine.addLocation(request);
    },
    editLocation: async (request, sender) => {
      // A new name alone stores nothing anywhere new.
      if (request.location !== undefined)
        await confirm(sender, {
          message: `Move the location ${request.name} here?`,
          detail: `It will hold ${request.name}'s share of the vault's key and its shards:\n\n${describeLocation(request.location)}`,
          ok: 'Move location',
        });
      return engine.editLocation(request);
    },
  };
}
