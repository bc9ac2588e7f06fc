// "Edit…" on a location: a new name, and/or a new address or password for the same data (a
// NAS that moved, a rotated password). The new address goes through the Add location form
// (host key confirmed, password in its own field); the engine refuses one that does not hold
// this location's data.
import { type FormEvent, useEffect, useState } from 'react';
import { GUARD_CHANGE, type LocationStatus } from '../../../shared/api';
import { isLocationName, LOCATION_NAME_RULE } from '../../../shared/location-kinds';
import type { Client } from '../bridge/client';
import { KIND_WORD } from '../ui/LocationTile';
import { ErrorNote, Field, Modal, Spinner, errorText } from '../ui/ui';
import { AddLocation, DomainField } from './AddLocation';

export function EditLocation({
  client,
  location,
  taken,
  onClose,
  onEdited,
  domains = [],
  enrol = false,
}: {
  client: Client;
  location: LocationStatus;
  /** Names of the other locations. */
  taken: readonly string[];
  onClose: () => void;
  onEdited: (name: string, display: string) => void;
  /** The vault's failure domains (the domain field's suggestions). */
  domains?: readonly string[];
  /** A node this device is not enrolled with (a new machine): straight to its new line, the
   * one `shardvault node new-code` prints on the node. */
  enrol?: boolean;
}) {
  const [name, setName] = useState(location.name);
  const [domain, setDomain] = useState(location.domain ?? '');
  const newDomain = domain.trim() !== (location.domain ?? '') ? domain.trim() : undefined;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [moving, setMoving] = useState(enrol);
  // A node of a guard whose policy asks for approvals wants a guardian's for this device too.
  const [approvals, setApprovals] = useState<{ done: number; total: number } | null>(null);
  useEffect(
    () =>
      client.onProgress((event) => {
        if (event.op === 'approval' && event.name === GUARD_CHANGE)
          setApprovals({ done: event.done, total: event.total });
      }),
    [client],
  );

  const trimmed = name.trim();
  const nameProblem = !isLocationName(trimmed)
    ? `A name uses ${LOCATION_NAME_RULE}.`
    : taken.includes(trimmed)
      ? `A location is called ${trimmed} already.`
      : null;
  const newName = trimmed !== location.name ? trimmed : undefined;

  const rename = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    event.stopPropagation();
    if ((newName !== undefined && nameProblem) || (newName === undefined && newDomain === undefined)) return;
    setBusy(true);
    setError(null);
    try {
      await client.api.editLocation({
        name: location.name,
        ...(newName !== undefined ? { newName } : {}),
        ...(newDomain !== undefined ? { domain: newDomain } : {}),
      });
      onEdited(newName ?? location.name, location.display);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };

  if (moving) {
    return (
      <AddLocation
        client={client}
        taken={taken}
        fixedName={newName !== undefined && !nameProblem ? newName : location.name}
        words={
          enrol
            ? {
                title: `Enrol this device with ${location.name}`,
                submit: 'Enrol',
                working: (display) =>
                  approvals === null
                    ? `Enrolling with ${display}…`
                    : `Enrolling with ${display}: waiting for ${approvals.done} of ${approvals.total} guardian ` +
                      `${approvals.total === 1 ? 'approval' : 'approvals'} (a guardian answers under Access requests)`,
              }
            : {
                title: `New address for ${location.name}`,
                submit: 'Use this address',
                working: (display) => `Checking that ${display} holds ${location.name}’s data…`,
              }
        }
        {...(enrol ? { kind: 'node' as const } : {})}
        onClose={enrol ? onClose : () => setMoving(false)}
        onAdded={() => undefined}
        commit={async (given, hostKey, display, allowInsecureHttp) => {
          await client.api.editLocation({
            name: location.name,
            ...(newName !== undefined && !nameProblem ? { newName } : {}),
            location: given,
            ...(hostKey !== undefined ? { hostKey } : {}),
            ...(allowInsecureHttp ? { allowInsecureHttp } : {}),
          });
          onEdited(newName !== undefined && !nameProblem ? newName : location.name, display);
        }}
      />
    );
  }

  return (
    <Modal title={`Edit ${location.name}`} onClose={busy ? () => undefined : onClose}>
      <form onSubmit={(e) => void rename(e)} noValidate aria-label={`Edit ${location.name}`}>
        <p>
          {KIND_WORD(location.kind)} <code>{location.display}</code>
        </p>
        <Field label="Name in the vault" error={trimmed === location.name ? null : nameProblem}>
          {(props) => (
            <input
              {...props}
              value={name}
              spellCheck={false}
              autoComplete="off"
              disabled={busy}
              onChange={(e) => setName(e.target.value)}
            />
          )}
        </Field>
        <DomainField domains={domains.filter((d) => d !== location.domain)} value={domain} onChange={setDomain} />
        <p className="hint">
          Moved the disk, the server has a new address, or its password changed? Give its new address: nothing is
          copied, so it must already hold this location’s data (copy the folder there first to move it).
        </p>
        {error ? (
          <ErrorNote>
            <strong>Not changed.</strong> {error}
          </ErrorNote>
        ) : null}
        <div className="actions">
          {busy ? (
            <Spinner
              label={
                newDomain !== undefined
                  ? `Dealing the key shares again over the domains…`
                  : `Renaming ${location.name}…`
              }
            />
          ) : null}
          <button type="button" onClick={() => setMoving(true)} disabled={busy}>
            New address or password…
          </button>
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button
            type="submit"
            className="primary"
            disabled={
              busy ||
              (newName === undefined && newDomain === undefined) ||
              (newName !== undefined && nameProblem !== null)
            }
          >
            {newDomain !== undefined ? 'Save' : 'Rename'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
