// The locations of a vault about to be created or opened: folders typed or picked, and
// servers through the same form as "Add location…" (host key confirmed, password in its own
// field). The list shows each location without its password.
import { useState } from 'react';
import type { Client } from '../bridge/client';
import { redactCredentials } from '../../../shared/redact';
import { pinFingerprint } from '../location-spec';
import { errorText } from '../ui/ui';
import { AddLocation } from './AddLocation';

export const SPEC_HINT = (
  <>
    A folder path (a USB disk, a NAS mount, a synced folder), or <code>sftp://user@host/path</code>, or{' '}
    <code>webdav+https://user@host/path</code>. Add <code>#name</code> to name it. For a server, “Add a server…” asks
    for each part and shows its host key.
  </>
);

/** A location to give the engine: its SPEC (which may hold a password) and how to show it. */
export interface LocationChoice {
  readonly spec: string;
  readonly display: string;
}

/** The name a SPEC gives its location (after '#'), if any. */
const nameOf = (spec: string): string | null => (spec.includes('#') ? spec.slice(spec.lastIndexOf('#') + 1) : null);

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
    if (value.some((v) => v.spec === choice.spec)) {
      setError('That location is in the list already.');
      return false;
    }
    setError(null);
    onChange([...value, choice]);
    return true;
  };
  const addTyped = (spec: string): void => {
    const trimmed = spec.trim();
    if (trimmed !== '' && add({ spec: trimmed, display: redactCredentials(trimmed) })) setDraft('');
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
  const taken = value.map((v, i) => nameOf(v.spec) ?? `loc${i + 1}`);

  return (
    <div className="locations-editor">
      {value.length > 0 ? (
        <ol className="location-list" aria-label="Locations">
          {value.map((choice, i) => (
            <li key={choice.spec}>
              <span className="location-index" aria-hidden="true">
                {i + 1}
              </span>
              <code className="location-spec">{choice.display}</code>
              <button
                type="button"
                className="ghost small"
                aria-label={`Remove ${choice.display}`}
                onClick={() => onChange(value.filter((v) => v.spec !== choice.spec))}
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
          commit={(spec, hostKey, display) => {
            const pinned = hostKey === undefined ? spec : pinFingerprint(spec, hostKey);
            const name = nameOf(spec);
            if (!add({ spec: pinned, display: name ? `${display} (${name})` : display })) {
              return Promise.reject(new Error('That location is in the list already.'));
            }
            return Promise.resolve();
          }}
        />
      ) : null}
    </div>
  );
}
