// The locations of a vault about to be created or opened: folders typed or picked, and
// servers through the same form as "Add location…" (host key confirmed, password in its own
// field). The list shows each location without its secrets.
import { useState } from 'react';
import type { FolderCheck, LocationInput } from '../../../shared/api';
import { isLocationName } from '../../../shared/location-kinds';
import type { Client } from '../bridge/client';
import { isAbsolutePath } from '../location-spec';
import { errorText } from '../ui/ui';
import { AddLocation, DomainField } from './AddLocation';

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
  /** Its failure domain as typed ('' or absent: none); offered for a new vault only. */
  readonly domain?: string;
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

/** What the engine said of a folder in the list: checked at once when it is added. */
type Checked = FolderCheck | { readonly state: 'checking' } | { readonly state: 'failed'; readonly error: string };

export function LocationsEditor({
  client,
  value,
  onChange,
  offerCreate = false,
  failed = null,
  offerDomains = false,
}: {
  client: Client;
  value: readonly LocationChoice[];
  onChange: (next: LocationChoice[]) => void;
  /** A missing folder (its parent there) gets a "Create it" button: for a new vault only. */
  offerCreate?: boolean;
  /** The engine's refusal about some of the locations, by position (BridgeFailure.locations). */
  failed?: { readonly rows: readonly number[]; readonly message: string } | null;
  /** Each location gets Add location's failure domain field: for a new vault only. */
  offerDomains?: boolean;
}) {
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const [checks, setChecks] = useState<Readonly<Record<string, Checked>>>({});

  // A folder is checked as soon as it is listed, so a missing one is seen at its own row now,
  // not as an error of the whole form later.
  const check = async (location: LocationInput, create = false): Promise<void> => {
    if (location.kind !== 'local') return;
    const key = keyOf(location);
    setChecks((c) => ({ ...c, [key]: { state: 'checking' } }));
    let next: Checked;
    try {
      next = await client.api.checkFolder({ location, ...(create ? { create } : {}) });
    } catch (e) {
      next = { state: 'failed', error: errorText(e) };
    }
    setChecks((c) => ({ ...c, [key]: next }));
  };

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
    if (add({ location, display: trimmed, allowInsecureHttp: false })) {
      setDraft('');
      void check(location);
    }
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
          {value.map((choice, i) => {
            const key = keyOf(choice.location);
            const checked = checks[key];
            // A refusal stands until the folder is made here (or the list changes).
            const refused =
              failed?.rows.includes(i) && checked?.state !== 'created' && checked?.state !== 'checking'
                ? failed.message
                : null;
            return (
              <li
                key={key}
                className={
                  refused || checked?.state === 'missing' || checked?.state === 'unreachable'
                    ? 'location-trouble'
                    : undefined
                }
                data-testid={`location-row-${i + 1}`}
              >
                <span className="location-index" aria-hidden="true">
                  {i + 1}
                </span>
                <code className="location-spec">{choice.display}</code>
                {checked?.state === 'missing' && offerCreate ? (
                  <button
                    type="button"
                    className="small"
                    aria-label={`Create ${choice.display}`}
                    onClick={() => void check(choice.location, true)}
                  >
                    Create it
                  </button>
                ) : null}
                <button
                  type="button"
                  className="ghost small"
                  aria-label={`Remove ${choice.display}`}
                  onClick={() => onChange(value.filter((v) => v !== choice))}
                >
                  Remove
                </button>
                <RowNote checked={checked} refused={refused} offerCreate={offerCreate} />
                {offerDomains ? (
                  <DomainField
                    domains={[
                      ...new Set(
                        value.flatMap((v, j) =>
                          j !== i && v.domain && v.domain.trim() !== '' ? [v.domain.trim()] : [],
                        ),
                      ),
                    ]}
                    value={choice.domain ?? ''}
                    onChange={(domain) => onChange(value.map((v) => (v === choice ? { ...v, domain } : v)))}
                  />
                ) : null}
              </li>
            );
          })}
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
            void check(location);
            return Promise.resolve();
          }}
        />
      ) : null}
    </div>
  );
}

/** Under a row: what the check found, or the engine's refusal about this location. */
function RowNote({
  checked,
  refused,
  offerCreate,
}: {
  checked: Checked | undefined;
  refused: string | null;
  offerCreate: boolean;
}) {
  let note: string | null = null;
  let trouble = false;
  switch (checked?.state) {
    case 'checking':
      note = 'Checking…';
      break;
    case 'missing':
      note = offerCreate
        ? 'This folder does not exist yet. Create it here, or pick one that exists.'
        : 'This folder does not exist: is the disk plugged in?';
      trouble = true;
      break;
    case 'created':
      note = 'Created.';
      break;
    case 'unreachable':
    case 'failed':
      note = checked.error;
      trouble = true;
      break;
    default:
      break;
  }
  if (refused)
    return (
      <p className="location-note location-note-error" role="alert">
        {refused}
      </p>
    );
  return note ? <p className={`location-note${trouble ? ' location-note-error' : ''}`}>{note}</p> : null;
}
