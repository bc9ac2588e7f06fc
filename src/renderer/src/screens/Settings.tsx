import { useEffect, useState } from 'react';
import { AUTO_LOCK_CHOICES, type BridgeSettings } from '../../../shared/ipc';
import type { StatusReport } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { formatBinary, formatCost, plural } from '../format';
import { PRESETS, locationsNeeded } from '../policy';
import type { ThemeChoice } from '../theme';
import { ErrorNote, Note, errorText } from '../ui/ui';

export function Settings({
  client,
  status,
  theme,
  onTheme,
  onLock,
}: {
  client: Client;
  status: StatusReport;
  theme: ThemeChoice;
  onTheme: (choice: ThemeChoice) => void;
  onLock: () => void;
}) {
  const [settings, setSettings] = useState<BridgeSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
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
