import { type FormEvent, useEffect, useState } from 'react';
import { AUTO_LOCK_CHOICES, type BridgeSettings } from '../../../shared/ipc';
import type { PassphraseChangeReport, StatusReport } from '../../../shared/api';
import { BridgeFailure, type Client } from '../bridge/client';
import { formatBinary, formatCost, plural } from '../format';
import { locationsNeeded } from '../../../shared/words';
import { PRESETS } from '../policy';
import type { ThemeChoice } from '../theme';
import { ErrorNote, Field, Note, errorText } from '../ui/ui';
import { ChangeSafety } from './ChangeSafety';
import { PrintKit } from './KitSheet';

export function Settings({
  client,
  status,
  theme,
  onTheme,
  onLock,
  onNewKit,
  onChanged,
}: {
  client: Client;
  status: StatusReport;
  theme: ThemeChoice;
  onTheme: (choice: ThemeChoice) => void;
  onLock: () => void;
  /** A new recovery code waits in the engine (api.recoveryKit): the app shows the kit. */
  onNewKit: () => void;
  /** The vault's policy changed (Change safety): the app reads its status again. */
  onChanged: () => void;
}) {
  const [settings, setSettings] = useState<BridgeSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [printing, setPrinting] = useState(false);
  useEffect(() => {
    client.api.getSettings().then(setSettings, (e: unknown) => setError(errorText(e)));
  }, [client]);

  const change = async (patch: Partial<BridgeSettings>): Promise<void> => {
    setError(null);
    setSaved(false);
    try {
      setSettings(await client.api.setSettings(patch));
      setSaved(true);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const { vault } = status;

  return (
    <>
      <header className="page-head">
        <div>
          <h1>Settings</h1>
          <p className="muted">{client.desktop ? 'Desktop app' : 'Web UI served by this computer'}</p>
        </div>
      </header>
      {error ? <ErrorNote onDismiss={() => setError(null)}>{error}</ErrorNote> : null}
      {saved ? <Note tone="ok">Saved.</Note> : null}

      <section className="card settings-section" aria-labelledby="security-title">
        <h2 id="security-title">Security</h2>
        <div className="setting">
          <label htmlFor="auto-lock">Lock the vault after</label>
          <select
            id="auto-lock"
            value={settings?.autoLockMinutes ?? ''}
            disabled={!settings}
            onChange={(e) => void change({ autoLockMinutes: Number(e.target.value) })}
          >
            {AUTO_LOCK_CHOICES.map((m) => (
              <option key={m} value={m}>
                {m === 0 ? 'Never' : `${plural(m, 'minute')} without use`}
              </option>
            ))}
          </select>
          <p className="hint">Locking wipes the vault key from memory; unlocking needs the passphrase again.</p>
        </div>
        <div className="setting">
          <button type="button" onClick={onLock}>
            Lock now
          </button>
        </div>
      </section>

      <section className="card settings-section" aria-labelledby="kit-print-title">
        <h2 id="kit-print-title">Recovery kit</h2>
        <p className="muted">
          A one-page kit with the vault id, its locations and their failure domains, the policy in plain words and what
          to do on a new machine. No passphrase, password or key is on it, and the recovery code only as a blank to
          write in.
        </p>
        <div className="setting">
          <button type="button" onClick={() => setPrinting(true)}>
            Print recovery kit
          </button>
        </div>
      </section>
      {printing ? <PrintKit client={client} onClose={() => setPrinting(false)} /> : null}

      <ChangePassphrase client={client} onNewKit={onNewKit} />

      <ChangeSafety client={client} status={status} onChanged={onChanged} />

      <section className="card settings-section" aria-labelledby="look-title">
        <h2 id="look-title">Appearance</h2>
        <div className="segmented" role="radiogroup" aria-label="Theme">
          {(['system', 'light', 'dark'] as const).map((choice) => (
            <label key={choice}>
              <input type="radio" name="theme" checked={theme === choice} onChange={() => onTheme(choice)} />{' '}
              {choice === 'system' ? 'Like the system' : choice === 'light' ? 'Light' : 'Dark'}
            </label>
          ))}
        </div>
      </section>

      <section className="card settings-section" aria-labelledby="policy-title">
        <h2 id="policy-title">Policies by sensitivity</h2>
        <p className="muted">
          This vault: {vault.total} shards per file, any {vault.data} rebuild it (survives losing{' '}
          {plural(vault.total - vault.data, 'location')}); {vault.threshold} locations unlock it (secret even if{' '}
          {vault.threshold - 1} collude). Storage cost {formatCost(vault.total * vault.replicas, vault.data)}, segments
          of {formatBinary(vault.segmentSize)}.
        </p>
        <dl className="presets-text">
          {PRESETS.map((p) => (
            <div key={p.id}>
              <dt>{p.title}</dt>
              <dd>
                {p.text}{' '}
                <span className="muted">
                  (survive {p.survive}, secret against {p.secretAgainst}; needs{' '}
                  {plural(locationsNeeded(p.survive, p.secretAgainst), 'location')})
                </span>
              </dd>
            </div>
          ))}
        </dl>
      </section>
    </>
  );
}

/**
 * Settings → Change passphrase: the current passphrase, the new one twice, and whether to
 * replace the recovery code too (the new code is then shown as a recovery kit, once).
 */
function ChangePassphrase({ client, onNewKit }: { client: Client; onNewKit: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [newCode, setNewCode] = useState(false);
  const [busy, setBusy] = useState(false);
  const [weak, setWeak] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<PassphraseChangeReport | null>(null);
  const mismatch = again !== '' && again !== next ? 'The two passphrases differ.' : null;
  const ready = current !== '' && next !== '' && next === again && !busy;

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!ready) return;
    setBusy(true);
    setError(null);
    setWeak(null);
    setDone(null);
    try {
      const report = await client.api.changePassphrase({
        passphrase: current,
        newPassphrase: next,
        newRecoveryCode: newCode,
      });
      setCurrent('');
      setNext('');
      setAgain('');
      if (report.newRecoveryCode) onNewKit();
      else setDone(report);
    } catch (e) {
      if (e instanceof BridgeFailure && e.code === 'weak-passphrase')
        setWeak(e.message.charAt(0).toUpperCase() + e.message.slice(1));
      else setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card settings-section" aria-labelledby="passphrase-title">
      <h2 id="passphrase-title">Change passphrase</h2>
      <p className="muted">
        The key shares on every location are sealed again under the new passphrase. Other devices ask once for the old
        one, then use the new one. The recovery code keeps working unless you replace it.
      </p>
      {error ? <ErrorNote onDismiss={() => setError(null)}>{error}</ErrorNote> : null}
      {done ? (
        <Note tone="ok">
          Passphrase changed on {done.reached.join(', ')}.
          {done.away.length
            ? ` ${done.away.join(', ')} ${done.away.length === 1 ? 'is' : 'are'} away: caught up when back.`
            : ''}
          {done.retired
            ? ' The old passphrase no longer unlocks.'
            : ' The old key shares stay until every location has the new ones.'}
        </Note>
      ) : null}
      <form onSubmit={(e) => void submit(e)} noValidate aria-label="Change passphrase">
        <Field label="Current passphrase">
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
            />
          )}
        </Field>
        <Field label="New passphrase" error={weak}>
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="new-password"
              value={next}
              onChange={(e) => {
                setNext(e.target.value);
                setWeak(null);
              }}
            />
          )}
        </Field>
        <Field label="New passphrase again" error={mismatch}>
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="new-password"
              value={again}
              onChange={(e) => setAgain(e.target.value)}
            />
          )}
        </Field>
        <label className="check">
          <input type="checkbox" checked={newCode} onChange={(e) => setNewCode(e.target.checked)} /> Also replace the
          recovery code (the old one stops working)
        </label>
        <div className="setting">
          <button type="submit" className="primary" disabled={!ready}>
            {busy ? 'Changing…' : 'Change passphrase'}
          </button>
        </div>
      </form>
    </section>
  );
}
