// A list of locations as SPEC strings: folder paths, sftp://…, webdav+https://….
import { useState } from 'react';
import type { Client } from '../bridge/client';
import { errorText } from '../ui/ui';

export const SPEC_HINT = (
  <>
    A folder path (a USB disk, a NAS mount, a synced folder), or <code>sftp://user@host/path</code>, or{' '}
    <code>webdav+https://user@host/path</code>. Add <code>#name</code> to name it.
  </>
);

export function LocationsEditor({
  client,
  value,
  onChange,
}: {
  client: Client;
  value: readonly string[];
  onChange: (next: string[]) => void;
}) {
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);

  const add = (spec: string): void => {
    const trimmed = spec.trim();
    if (trimmed === '') return;
    if (value.includes(trimmed)) {
      setError('That location is in the list already.');
      return;
    }
    setError(null);
    onChange([...value, trimmed]);
    setDraft('');
  };

  const chooseFolder = async (): Promise<void> => {
    try {
      const folder = await client.api.chooseFolder();
      if (folder) add(folder);
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <div className="locations-editor">
      {value.length > 0 ? (
        <ol className="location-list" aria-label="Locations">
          {value.map((spec, i) => (
            <li key={spec}>
              <span className="location-index" aria-hidden="true">
                {i + 1}
              </span>
              <code className="location-spec">{spec}</code>
              <button
                type="button"
                className="ghost small"
                aria-label={`Remove ${spec}`}
                onClick={() => onChange(value.filter((s) => s !== spec))}
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
                add(draft);
              }
            }}
          />
          <button type="button" onClick={() => add(draft)} disabled={draft.trim() === ''}>
            Add
          </button>
          {client.desktop ? (
            <button type="button" onClick={() => void chooseFolder()}>
              Choose folder…
            </button>
          ) : null}
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
    </div>
  );
}
