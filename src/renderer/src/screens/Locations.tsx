// Locations of a living vault: status, test, add (folder, SFTP with its host key confirmed,
// WebDAV), edit (a new name, or a new address or password for the same data), remove
// (shards move first; an untrusted location also changes the vault key).
import { useState } from 'react';
import { LOCATION_PROBE_BYTES, type LocationStatus, type LocationTest, type StatusReport } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { formatBinary, formatBytes, plural } from '../format';
import { KIND_WORD, LocationTile, Trouble } from '../ui/LocationTile';
import { EmptyState, ErrorNote, Modal, Note, Spinner, errorText } from '../ui/ui';
import { widerPolicy } from '../../../shared/words';
import { AddLocation } from './AddLocation';
import { ChangeSafetyDialog } from './ChangeSafety';
import { EditLocation } from './EditLocation';
import { RecoveryDrill } from './RecoveryDrill';
import { SignInLocation } from './SignInLocation';

type TestState =
  | { readonly state: 'running' }
  | { readonly state: 'done'; readonly result: LocationTest }
  | { readonly state: 'failed'; readonly message: string };

export function Locations({
  client,
  status,
  onChanged,
}: {
  client: Client;
  status: StatusReport;
  onChanged: () => void;
}) {
  const [adding, setAdding] = useState(false);
  const [drilling, setDrilling] = useState(false);
  const [removing, setRemoving] = useState<LocationStatus | null>(null);
  const [editing, setEditing] = useState<LocationStatus | null>(null);
  // A node this device is not enrolled with: its Edit, straight at the new line.
  const [enrolling, setEnrolling] = useState<LocationStatus | null>(null);
  const [signingIn, setSigningIn] = useState<LocationStatus | null>(null);
  const [tests, setTests] = useState<Readonly<Record<string, TestState>>>({});
  const [notice, setNotice] = useState<string | null>(null);
  // After an add: whether the notice offers to widen n to the new location ("Use it").
  const [justAdded, setJustAdded] = useState(false);
  const [widening, setWidening] = useState(false);
  const tell = (text: string | null): void => {
    setNotice(text);
    setJustAdded(false);
  };
  const { vault, locations } = status;
  const wider = justAdded && status.policyJob === null ? widerPolicy(vault, locations.length) : null;
  const vaultDomains = [...new Set(locations.flatMap((l) => (l.domain === null ? [] : [l.domain])))];
  const offline = locations.filter((l) => !l.reachable && !l.signIn).length;

  const test = async (name: string): Promise<void> => {
    setTests((t) => ({ ...t, [name]: { state: 'running' } }));
    let next: TestState;
    try {
      next = { state: 'done', result: await client.api.testLocation({ name }) };
    } catch (e) {
      next = { state: 'failed', message: errorText(e) };
    }
    setTests((t) => ({ ...t, [name]: next }));
  };

  return (
    <>
      <header className="page-head">
        <div>
          <h1>Locations</h1>
          <p className="muted">
            {plural(locations.length, 'location')}
            {offline > 0 ? `, ${offline} offline` : ''} · each file is {vault.total} shards, any {vault.data} read it;{' '}
            {vault.threshold} locations unlock the vault
          </p>
        </div>
        <div className="row">
          <button type="button" onClick={() => setDrilling(true)} disabled={locations.length === 0}>
            Recovery drill…
          </button>
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add location…
          </button>
        </div>
      </header>

      {notice ? (
        <Note tone="ok">
          {notice}{' '}
          {wider !== null ? (
            <>
              Files are still written as {plural(vault.total, 'shard')}.{' '}
              <button type="button" className="small" onClick={() => setWidening(true)}>
                Use it: Change safety…
              </button>{' '}
            </>
          ) : null}
          <button type="button" className="ghost small" onClick={() => tell(null)}>
            Dismiss
          </button>
        </Note>
      ) : null}

      {locations.length === 0 ? (
        <EmptyState
          title="No locations"
          action={
            <button type="button" className="primary" onClick={() => setAdding(true)}>
              Add location…
            </button>
          }
        >
          Shards need places to live: a USB disk, a NAS, a server elsewhere.
        </EmptyState>
      ) : (
        <ul className="tiles tiles-wide" aria-label="Locations">
          {locations.map((location) => {
            const t = tests[location.name];
            return (
              <LocationTile key={location.name} location={location}>
                <div className="tile-actions">
                  {location.signIn && location.kind === 'node' ? (
                    // A node enrols this device with a new code: its line, pasted in Edit.
                    <button
                      type="button"
                      className="small primary"
                      onClick={() => setEnrolling(location)}
                      aria-label={`Enrol with ${location.name}…`}
                    >
                      Enrol…
                    </button>
                  ) : location.signIn ? (
                    <button
                      type="button"
                      className="small primary"
                      onClick={() => setSigningIn(location)}
                      aria-label={`Sign in to ${location.name}…`}
                    >
                      Sign in…
                    </button>
                  ) : null}
                  <button
                    type="button"
                    className="small"
                    onClick={() => void test(location.name)}
                    disabled={t?.state === 'running'}
                    aria-label={`Test ${location.name}`}
                  >
                    Test
                  </button>
                  <button
                    type="button"
                    className="small"
                    onClick={() => setEditing(location)}
                    aria-label={`Edit ${location.name}…`}
                  >
                    Edit…
                  </button>
                  <button
                    type="button"
                    className="small danger"
                    onClick={() => setRemoving(location)}
                    aria-label={`Remove ${location.name}…`}
                  >
                    Remove…
                  </button>
                </div>
                {t ? <TestResult test={t} /> : null}
              </LocationTile>
            );
          })}
        </ul>
      )}

      {widening && wider !== null ? (
        <ChangeSafetyDialog
          client={client}
          locations={locations}
          vault={vault}
          current={{ survive: vault.total - vault.data, secretAgainst: vault.threshold - 1 }}
          start={{ survive: wider.total - wider.data, secretAgainst: wider.threshold - 1 }}
          resume={false}
          onClose={() => setWidening(false)}
          onDone={(report) => {
            setWidening(false);
            tell(
              `Safety changed: ${report.total} shards per file, any ${report.data} rebuild it, ${report.threshold} unlock it.`,
            );
            onChanged();
          }}
        />
      ) : null}
      {drilling ? <RecoveryDrill client={client} locations={locations} onClose={() => setDrilling(false)} /> : null}
      {adding ? (
        <AddLocation
          client={client}
          taken={locations.map((l) => l.name)}
          domains={vaultDomains}
          onClose={() => setAdding(false)}
          onAdded={(name, display) => {
            setAdding(false);
            setNotice(
              `Added ${name} (${display}). The key shares were dealt again over ${plural(locations.length + 1, 'location')}; new files use it from now on.`,
            );
            setJustAdded(true);
            onChanged();
          }}
        />
      ) : null}
      {editing ? (
        <EditLocation
          client={client}
          location={editing}
          domains={vaultDomains}
          taken={locations.filter((l) => l.name !== editing.name).map((l) => l.name)}
          onClose={() => setEditing(null)}
          onEdited={(name, display) => {
            setTests(({ [editing.name]: _old, ...rest }) => rest);
            setEditing(null);
            tell(`${editing.name} is now ${name} (${display}).`);
            onChanged();
          }}
        />
      ) : null}
      {enrolling ? (
        <EditLocation
          client={client}
          location={enrolling}
          enrol
          taken={locations.filter((l) => l.name !== enrolling.name).map((l) => l.name)}
          onClose={() => setEnrolling(null)}
          onEdited={() => {
            setEnrolling(null);
            tell(`Enrolled with ${enrolling.name}: this device uses it from now on.`);
            onChanged();
          }}
        />
      ) : null}
      {signingIn?.signIn ? (
        <SignInLocation
          client={client}
          location={signingIn}
          signIn={signingIn.signIn}
          onClose={() => setSigningIn(null)}
          onSignedIn={() => {
            setSigningIn(null);
            tell(`Signed in to ${signingIn.name}: this device uses it from now on.`);
            onChanged();
          }}
        />
      ) : null}
      {removing ? (
        <RemoveLocation
          client={client}
          location={removing}
          onClose={() => setRemoving(null)}
          onRemoved={(untrusted) => {
            setRemoving(null);
            setTests(({ [removing.name]: _gone, ...rest }) => rest);
            tell(
              `Removed ${removing.name}. Its shards now live on the other locations` +
                (untrusted ? ', and the vault key was changed: its old key share opens nothing.' : '.'),
            );
            onChanged();
          }}
        />
      ) : null}
    </>
  );
}

function TestResult({ test }: { test: TestState }) {
  switch (test.state) {
    case 'running':
      return (
        <div className="test-result">
          <Spinner label={`Writing, reading back and deleting ${formatBinary(LOCATION_PROBE_BYTES)}…`} />
        </div>
      );
    case 'failed':
      return (
        <div className="test-result test-failed" role="status" data-testid="test-result">
          <strong>Test failed</strong>
          <Trouble message={test.message} />
        </div>
      );
    case 'done': {
      const r = test.result;
      if (!r.reachable || r.roundTripMs === null) {
        return (
          <div className="test-result test-failed" role="status" data-testid="test-result">
            <strong>{r.reachable ? 'Test failed' : 'Not reachable'}</strong>
            <Trouble message={r.error ?? 'the location did not answer'} />
          </div>
        );
      }
      return (
        <div className="test-result test-ok" role="status" data-testid="test-result">
          <strong>Works</strong>
          <dl className="test-facts">
            <div>
              <dt>Round trip</dt>
              <dd title={`Write, read back and delete ${formatBinary(LOCATION_PROBE_BYTES)}`}>{r.roundTripMs} ms</dd>
            </div>
            <div>
              <dt>Latency</dt>
              <dd>{r.latencyMs === null ? '—' : `${Math.round(r.latencyMs)} ms`}</dd>
            </div>
            <div>
              <dt>Free</dt>
              <dd>{r.freeBytes === null ? 'not reported' : formatBytes(r.freeBytes)}</dd>
            </div>
          </dl>
        </div>
      );
    }
  }
}

function RemoveLocation({
  client,
  location,
  onClose,
  onRemoved,
}: {
  client: Client;
  location: LocationStatus;
  onClose: () => void;
  onRemoved: (untrusted: boolean) => void;
}) {
  const [untrusted, setUntrusted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const remove = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await client.api.removeLocation({ name: location.name, untrusted });
      onRemoved(untrusted);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };

  return (
    // The engine finishes the move whatever the page does: the dialog stays until it has.
    <Modal title={`Remove ${location.name}`} onClose={busy ? () => undefined : onClose}>
      <p>
        Remove <strong>{location.name}</strong> ({KIND_WORD(location.kind)} <code>{location.display}</code>) from the
        vault?
      </p>
      <p>
        First, every shard it holds is rebuilt on the other locations
        {location.reachable ? '' : ' (it is offline: the others hold enough to rebuild them)'}. Then the key shares are
        dealt again without it. Your files stay readable all along; with many files this takes a while.
      </p>
      <label className="check check-block">
        <input type="checkbox" checked={untrusted} disabled={busy} onChange={(e) => setUntrusted(e.target.checked)} /> I
        no longer trust this location (also change the vault key)
      </label>
      <p className="hint">
        Its old key share could still help open the vault together with other old shares. Changing the vault key makes
        it worthless: every file’s keys are wrapped again under the new key (no file is uploaded again).
      </p>
      {error ? (
        <ErrorNote>
          <strong>Not removed.</strong> {error}
        </ErrorNote>
      ) : null}
      <div className="actions">
        {busy ? <Spinner label={`Moving shards off ${location.name}…`} /> : null}
        <button type="button" onClick={onClose} disabled={busy} autoFocus>
          Keep it
        </button>
        <button type="button" className="danger" onClick={() => void remove()} disabled={busy}>
          Remove {location.name}
        </button>
      </div>
    </Modal>
  );
}
