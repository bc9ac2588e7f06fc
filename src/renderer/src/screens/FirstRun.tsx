// First run: create a vault over locations, or open one that exists; then the recovery kit.
import { type FormEvent, useState } from 'react';
import type { RecoveryKit as Kit } from '../../../shared/api';
import { BridgeFailure, type Client } from '../bridge/client';
import { plural, sentence } from '../format';
import { ErrorNote, Field, Note, Spinner, errorText } from '../ui/ui';
import { type LocationChoice, LocationsEditor } from './LocationsEditor';
import { SafetyChoice } from './SafetyChoice';
import { usePolicyPreview } from '../policy';

/** The vault is created (the app then shows its recovery kit) or opened. */
export function FirstRun({ client, onDone }: { client: Client; onDone: () => void }) {
  const [tab, setTab] = useState<'create' | 'open'>('create');
  return (
    <main className="onboarding" id="main">
      <header className="onboarding-head">
        <Logo />
        <h1>Welcome to Shardvault</h1>
        <p className="lede">
          Your files are encrypted, cut into shards and spread over storage you already have. No single place holds
          enough to read them, and losing a place loses nothing.
        </p>
      </header>
      <div className="tabs" role="tablist" aria-label="Start">
        <button type="button" role="tab" aria-selected={tab === 'create'} onClick={() => setTab('create')}>
          Create a new vault
        </button>
        <button type="button" role="tab" aria-selected={tab === 'open'} onClick={() => setTab('open')}>
          Open an existing vault
        </button>
      </div>
      <section className="card" role="tabpanel">
        {tab === 'create' ? (
          <CreateVault client={client} onCreated={onDone} />
        ) : (
          <OpenVault client={client} onOpened={onDone} />
        )}
      </section>
    </main>
  );
}

export function Logo() {
  return (
    <svg className="logo" viewBox="0 0 32 32" aria-hidden="true">
      <path d="M16 2 28 9v14l-12 7L4 23V9z" className="logo-outer" />
      <path d="M16 9 22 12.5v7L16 23l-6-3.5v-7z" className="logo-inner" />
    </svg>
  );
}

function CreateVault({ client, onCreated }: { client: Client; onCreated: () => void }) {
  const [locations, setLocations] = useState<LocationChoice[]>([]);
  const [survive, setSurvive] = useState(1);
  const [secretAgainst, setSecretAgainst] = useState(1);
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The engine's refusal of a passphrase too easy to guess (its one strength rule, with the
  // reasons): shown at the field until the passphrase changes.
  const [weak, setWeak] = useState<string | null>(null);
  const [touched, setTouched] = useState(false);
  // The engine's refusal about particular locations (a folder it could not use), at their rows.
  const [failedRows, setFailedRows] = useState<{ rows: readonly number[]; message: string } | null>(null);

  // The engine does the arithmetic (over failure domains when there are some, by the rule
  // init and policy set use: domains.ts), and says what the domains cost in the words status
  // uses, live as the user picks.
  const domains = locations.map((l) => (l.domain ?? '').trim());
  const inDomains = domains.some((d) => d !== '');
  const named = locations.map((l, i) => ({ name: l.location.name ?? `loc${i + 1}`, domain: domains[i]! }));
  const derived = usePolicyPreview(client, named, survive, secretAgainst, (e) => setError(errorText(e)));
  const mismatch = confirm !== '' && confirm !== passphrase ? 'The two passphrases differ.' : null;
  const missing = passphrase === '' ? 'Choose a passphrase; a few unrelated words work well.' : null;
  const ready =
    derived !== null &&
    derived.problem === null &&
    passphrase !== '' &&
    passphrase === confirm &&
    locations.length >= 2 &&
    !busy;

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setTouched(true);
    if (!ready) return;
    setBusy(true);
    setError(null);
    setWeak(null);
    setFailedRows(null);
    try {
      const given = locations.map((l) => l.location);
      const allow = locations.some((l) => l.allowInsecureHttp) ? { allowInsecureHttp: true } : {};
      const grouped = inDomains ? { domains } : {};
      await client.api.createVault({ locations: given, survive, secretAgainst, passphrase, ...allow, ...grouped });
      setPassphrase('');
      setConfirm('');
      onCreated();
    } catch (e) {
      if (e instanceof BridgeFailure && e.code === 'weak-passphrase') setWeak(sentence(e.message));
      else {
        if (e instanceof BridgeFailure && e.locations.length > 0)
          setFailedRows({ rows: e.locations, message: e.message });
        setError(errorText(e));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-label="Create a vault">
      <h2>1. Where should the shards live?</h2>
      <p className="muted">Pick places that fail separately: a USB disk, a NAS, a server elsewhere.</p>
      <LocationsEditor
        client={client}
        value={locations}
        onChange={(next) => {
          setFailedRows(null);
          setLocations(next);
        }}
        offerCreate
        offerDomains
        failed={failedRows}
      />

      <h2>2. How safe?</h2>
      <SafetyChoice
        locations={locations.length}
        over={derived ?? { data: 0, total: locations.length, threshold: secretAgainst + 1, problem: null }}
        survive={survive}
        secretAgainst={secretAgainst}
        onChange={(next) => {
          setSurvive(next.survive);
          setSecretAgainst(next.secretAgainst);
        }}
      />
      {touched || locations.length >= 2 ? (
        derived?.problem ? (
          <p className="field-error">{sentence(derived.problem)}.</p>
        ) : null
      ) : null}
      {derived?.domainWarnings.map((w) => (
        <Note tone="warn" key={w}>
          <span data-testid="domain-warning">Failure domains: {w}.</span>
        </Note>
      ))}

      <h2>3. A passphrase</h2>
      <p className="muted">
        It unlocks the vault on this computer. Nobody can reset it; the recovery code shown next is the only other way
        in.
      </p>
      <div className="grid-2">
        <Field label="Passphrase" error={weak ?? (touched ? missing : null)}>
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="new-password"
              value={passphrase}
              onChange={(e) => {
                setPassphrase(e.target.value);
                setWeak(null);
              }}
            />
          )}
        </Field>
        <Field label="Confirm passphrase" error={mismatch}>
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="new-password"
              value={confirm}
              onChange={(e) => setConfirm(e.target.value)}
            />
          )}
        </Field>
      </div>
      {error ? <ErrorNote>{error}</ErrorNote> : null}
      <div className="actions">
        {busy ? <Spinner label="Creating the vault: deriving keys and writing to every location…" /> : null}
        <button type="submit" className="primary" disabled={busy}>
          Create vault
        </button>
      </div>
    </form>
  );
}

function OpenVault({ client, onOpened }: { client: Client; onOpened: () => void }) {
  const [locations, setLocations] = useState<LocationChoice[]>([]);
  const [useCode, setUseCode] = useState(false);
  const [secret, setSecret] = useState('');
  const [fingerprint, setFingerprint] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (locations.length === 0 || secret === '') {
      setError('Add the vault’s locations and give its passphrase or recovery code.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const given = locations.map((l) => l.location);
      const expect = fingerprint.trim() ? { expectFingerprint: fingerprint.trim() } : {};
      const allow = locations.some((l) => l.allowInsecureHttp) ? { allowInsecureHttp: true } : {};
      await client.api.openVault(
        useCode
          ? { locations: given, recoveryCode: secret, ...expect, ...allow }
          : { locations: given, passphrase: secret, ...expect, ...allow },
      );
      setSecret('');
      onOpened();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-label="Open a vault">
      <h2>Where is the vault?</h2>
      <p className="muted">Give at least as many of its locations as it needs to unlock; all of them is best.</p>
      <LocationsEditor client={client} value={locations} onChange={setLocations} />
      <h2>Prove it is yours</h2>
      <div className="segmented" role="radiogroup" aria-label="Unlock with">
        <label>
          <input type="radio" name="secret-kind" checked={!useCode} onChange={() => setUseCode(false)} /> Passphrase
        </label>
        <label>
          <input type="radio" name="secret-kind" checked={useCode} onChange={() => setUseCode(true)} /> Recovery code
        </label>
      </div>
      <Field label={useCode ? 'Recovery code' : 'Passphrase'}>
        {(props) => (
          <input
            {...props}
            type={useCode ? 'text' : 'password'}
            className={useCode ? 'mono' : undefined}
            autoComplete="off"
            spellCheck={false}
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
          />
        )}
      </Field>
      <Field label="Vault key fingerprint (optional, from the recovery kit)">
        {(props) => (
          <input
            {...props}
            type="text"
            className="mono"
            autoComplete="off"
            spellCheck={false}
            placeholder="XXXX-XXXX-…"
            value={fingerprint}
            onChange={(e) => setFingerprint(e.target.value)}
          />
        )}
      </Field>
      {error ? <ErrorNote>{error}</ErrorNote> : null}
      <div className="actions">
        {busy ? <Spinner label="Looking for the vault…" /> : null}
        <button type="submit" className="primary" disabled={busy}>
          Open vault
        </button>
      </div>
    </form>
  );
}

/**
 * The recovery kit, until the user confirms it is written down. The engine holds it until
 * then (api.recoveryKit), so a reload shows it again rather than skipping this step.
 */
export function RecoveryKit({ client, kit, onDone }: { client: Client; kit: Kit; onDone: () => void }) {
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const proceed = async (): Promise<void> => {
    try {
      await client.api.confirmRecoveryKit();
      onDone();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const groups = kit.recoveryCode.match(/.{1,4}/g) ?? [kit.recoveryCode];
  const plainCode = /^[A-Za-z0-9]+$/.test(kit.recoveryCode);
  return (
    <main className="onboarding" id="main">
      <section className="card kit" aria-labelledby="kit-title">
        <header>
          <Logo />
          <h1 id="kit-title">Your recovery kit</h1>
          <p className="lede">
            Write this down or print it, and keep it somewhere safe and apart from your computer. Once you continue it
            is <strong>never shown again</strong>. With it and {plural(kit.vault.threshold, 'location')} you can open
            the vault if you forget the passphrase.
          </p>
        </header>
        <div className="kit-code" aria-label="Recovery code">
          <span className="kit-label">Recovery code</span>
          <code data-testid="recovery-code">{plainCode ? groups.join(' ') : kit.recoveryCode}</code>
        </div>
        <dl className="kit-facts">
          <div>
            <dt>Vault</dt>
            <dd>
              <code data-testid="vault-id">{kit.vault.id}</code>
            </dd>
          </div>
          {kit.vault.fingerprint && (
            <div>
              <dt>Vault key fingerprint</dt>
              <dd>
                <code data-testid="vault-fingerprint">{kit.vault.fingerprint}</code>
              </dd>
            </div>
          )}
          <div>
            <dt>Policy</dt>
            <dd>
              {kit.vault.total} shards per file, any {kit.vault.data} read it; {kit.vault.threshold} locations unlock it
            </dd>
          </div>
          <div>
            <dt>Locations</dt>
            <dd>
              <ol>
                {kit.locations.map((where) => (
                  <li key={where}>
                    <code>{where}</code>
                  </li>
                ))}
              </ol>
            </dd>
          </div>
        </dl>
        <p className="muted small">
          The kit holds no passwords of your locations: keep those in your password manager.
        </p>
        {error ? <ErrorNote>{error}</ErrorNote> : null}
        <div className="actions no-print">
          <button type="button" onClick={() => window.print()}>
            Print kit
          </button>
          <label className="check">
            <input type="checkbox" checked={saved} onChange={(e) => setSaved(e.target.checked)} /> I have written down
            or printed the recovery code
          </label>
          <button type="button" className="primary" disabled={!saved} onClick={() => void proceed()}>
            Continue to the vault
          </button>
        </div>
      </section>
    </main>
  );
}
