// The locations of a vault about to be created or opened: folders typed or picked, and
// servers through the same form as "Add location…" (host key confirmed, password in its own
// field). The list shows each location without its secrets.
import { useState } from 'react';
import type { LocationInput } from '../../../shared/api';
import { isLocationName } from '../../../shared/location-kinds';
import type { Client } from '../bridge/client';
import { isAbsolutePath } from '../location-spec';
import { errorText } from '../ui/ui';
import { AddLocation } from './AddLocation';

export const SPEC_HINT = (
  <>
    A folder path (a USB disk, a NAS mount, a synced folder); add <code>#name</code> to name it. For a server (SFTP,
    WebDAV, S3), “Add a server…” asks for each part and shows its host key.
  </>
);

/** A location to give the engine (its secrets among its fields), how to show it, and consent to plain http. */
export interface LocationChoice {
  readonly location: LocationInput;
  readonly display: string;
  readonly allowInsecureHttp: boolean;
}

/** A folder typed as `PATH[#NAME]`, or why it is not one. */
function typedFolder(text: string): LocationInput | string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return 'For a server, use “Add a server…”: it asks for each part.';
  const hash = text.lastIndexOf('#');
  const name = hash >= 0 && isLocationName(text.slice(hash + 1)) ? text.slice(hash + 1) : null;
  const folder = name === null ? text : text.slice(0, hash);
  if (!isAbsolutePath(folder)) return 'Give the full path of the folder, starting with /.';
  return { kind: 'local', fields: { folder }, ...(name === null ? {} : { name }) };
}

/** What identifies a choice in the list (its address, never its secrets). */
const keyOf = (l: LocationInput): string => JSON.stringify([l.kind, l.fields, l.name ?? null]);

export function LocationsEditor({
  client,
  value,
  onChange,
}: {
  client: Client;
  value: readonly LocationChoice[];
  onChange: (next: LocationChoice[]) => void;
}) {
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);

  const add = (choice: LocationChoice): boolean => {
    if (value.some((v) => keyOf(v.location) === keyOf(choice.location))) {
      setError('That location is in the list already.');
      return false;
    }
    setError(null);
    onChange([...value, choice]);
    return true;
  };
  const addTyped = (spec: string): void => {
    const trimmed = spec.trim();
    if (trimmed === '') return;
    const location = typedFolder(trimmed);
    if (typeof location === 'string') {
      setError(location);
      return;
    }
    if (add({ location, display: trimmed, allowInsecureHttp: false })) setDraft('');
  };

  const chooseFolder = async (): Promise<void> => {
    try {
      const folder = await client.api.chooseFolder();
      if (folder) addTyped(folder);
    } catch (e) {
      setError(errorText(e));
    }
  };

  // Names the list already gives (typed ones, or loc1, loc2, ... by position as the engine does).
  const taken = value.map((v, i) => v.location.name ?? `loc${i + 1}`);

  return (
    <div className="locations-editor">
      {value.length > 0 ? (
        <ol className="location-list" aria-label="Locations">
          {value.map((choice, i) => (
            <li key={keyOf(choice.location)}>
              <span className="location-index" aria-hidden="true">
                {i + 1}
              </span>
              <code className="location-spec">{choice.display}</code>
              <button
                type="button"
                className="ghost small"
                aria-label={`Remove ${choice.display}`}
                onClick={() => onChange(value.filter((v) => v !== choice))}
              >
                Remove
              </button>
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted">No locations yet.</p>
      )}
      <div className="field">
        <label htmlFor="location-draft">Add a location</label>
        <div className="row">
          <input
            id="location-draft"
            className="grow mono"
            value={draft}
            spellCheck={false}
            autoComplete="off"
            placeholder="/media/usb/vault"
            aria-describedby="location-hint"
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                addTyped(draft);
              }
            }}
          />
          <button type="button" onClick={() => addTyped(draft)} disabled={draft.trim() === ''}>
            Add
          </button>
          {client.desktop ? (
            <button type="button" onClick={() => void chooseFolder()}>
              Choose folder…
            </button>
          ) : null}
          <button type="button" onClick={() => setAdding(true)}>
            Add a server…
          </button>
        </div>
        <div className="hint" id="location-hint">
          {SPEC_HINT}
        </div>
        {error ? (
          <div className="field-error" role="alert">
            {error}
          </div>
        ) : null}
      </div>
      {adding ? (
        <AddLocation
          client={client}
          taken={taken}
          onClose={() => setAdding(false)}
          onAdded={() => setAdding(false)}
          commit={(location, _hostKey, display, allowInsecureHttp) => {
            // The confirmed host key travels in location.hostKey, pinned as the vault is made.
            const name = location.name;
            if (!add({ location, display: name ? `${display} (${name})` : display, allowInsecureHttp })) {
              return Promise.reject(new Error('That location is in the list already.'));
            }
            return Promise.resolve();
          }}
        />
      ) : null}
    </div>
  );
}
