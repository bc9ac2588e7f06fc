import { type FormEvent, useState } from 'react';
import type { StatusReport } from '../../../shared/api';
import { BridgeFailure, type Client } from '../bridge/client';
import { plural } from '../format';
import { ErrorNote, Spinner, errorText } from '../ui/ui';
import { Logo } from './FirstRun';

export function Unlock({
  client,
  status,
  onUnlocked,
}: {
  client: Client;
  status: StatusReport;
  onUnlocked: () => void;
}) {
  const [passphrase, setPassphrase] = useState('');
  // The passphrase this device knew, after a change on another device: the location
  // credentials this profile seals open with it once, then are sealed under the new one.
  const [oldPassphrase, setOldPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const reachable = status.locations.filter((l) => l.reachable).length;
  const enough = reachable >= status.vault.threshold;

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (passphrase === '') return;
    setBusy(true);
    setError(null);
    try {
      await client.api.unlock(oldPassphrase === '' ? { passphrase } : { passphrase, oldPassphrase });
      setPassphrase('');
      setOldPassphrase('');
      onUnlocked();
    } catch (e) {
      setError(
        e instanceof BridgeFailure && e.code === 'auth'
          ? 'That passphrase did not unlock the vault. The attempt has been recorded.'
          : errorText(e),
      );
      setBusy(false);
    }
  };

  return (
    <main className="onboarding narrow" id="main">
      <form className="card unlock" onSubmit={(e) => void submit(e)} aria-labelledby="unlock-title">
        <Logo />
        <h1 id="unlock-title">Vault locked</h1>
        <p className="muted">
          Vault <code>{status.vault.id}</code>
        </p>
        <p className={enough ? 'muted' : 'field-error'}>
          {reachable} of {plural(status.locations.length, 'location')} reachable; unlocking needs{' '}
          {status.vault.threshold}.
        </p>
        <label htmlFor="unlock-passphrase">Passphrase</label>
        <input
          id="unlock-passphrase"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
        />
        <details className="unlock-old">
          <summary>Changed the passphrase on another device?</summary>
          <label htmlFor="unlock-old-passphrase">Previous passphrase</label>
          <input
            id="unlock-old-passphrase"
            type="password"
            autoComplete="off"
            value={oldPassphrase}
            onChange={(e) => setOldPassphrase(e.target.value)}
          />
          <p className="hint">
            Needed once on this device, if it keeps passwords of locations: they open with the previous passphrase and
            are then sealed under the new one.
          </p>
        </details>
        {error ? <ErrorNote>{error}</ErrorNote> : null}
        <div className="actions">
          {busy ? <Spinner label="Unlocking…" /> : null}
          <button type="submit" className="primary" disabled={busy || passphrase === ''}>
            Unlock
          </button>
        </div>
      </form>
    </main>
  );
}
