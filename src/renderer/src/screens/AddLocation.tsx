// "Add location…": a form per kind whose fields become a LocationInput (location-spec.ts), a
// probe without the secrets, the SFTP host key shown for the user to confirm, then addLocation
// with the secrets as fields of their own (never inside a URL). A secret is never in React
// state: it stays in its input (uncontrolled, so React does not copy it into a value attribute
// either), is read once for addLocation, and the input is emptied when the call answers.
import { type FormEvent, type RefObject, useId, useRef, useState } from 'react';
import type { LocationInput, LocationProbe } from '../../../shared/api';
import type { Client } from '../bridge/client';
import {
  type FieldName,
  type LocationFields,
  type LocationKindChoice,
  EMPTY_FIELDS,
  S3_FIELDS,
  buildLocation,
  suggestName,
} from '../location-spec';
import { fieldNames, generatedFieldNames, LOCATION_KIND_NAMES, LOCATION_KINDS } from '../../../shared/location-kinds';
import { locationTrouble } from '../../../shared/location-trouble';
import { ErrorNote, Field, Modal, Spinner, errorText } from '../ui/ui';
import { CreateFolder } from './CreateFolder';

type Step =
  | { readonly kind: 'form' }
  | { readonly kind: 'probing' }
  | { readonly kind: 'confirm'; readonly name: string; readonly probe: LocationProbe & { hostKey: string } }
  | { readonly kind: 'adding'; readonly display: string };

const KINDS: ReadonlyArray<{ id: LocationKindChoice; label: string }> = LOCATION_KIND_NAMES.map((id) => ({
  id,
  label: LOCATION_KINDS[id].choice,
}));

/**
 * What happens to a location once its form is filled in and its host key (SFTP) confirmed.
 * A living vault adds it at once (the default); the first-run screen collects it for the
 * vault it is about to create, with the confirmed host key in `location.hostKey`.
 */
export type CommitLocation = (
  location: LocationInput,
  hostKey: string | undefined,
  display: string,
  allowInsecureHttp: boolean,
) => Promise<void>;

/** The secret field the form's password input holds for a kind (an SSH key's passphrase has its own input). */
const mainSecret = (kind: LocationKindChoice): string | null =>
  fieldNames(kind, true).find((name) => name !== 'keyPassphrase' && !generatedFieldNames(kind).includes(name)) ?? null;

/** The words of the dialog: adding a location (the default), or giving one a new address. */
export interface AddLocationWords {
  readonly title: string;
  readonly submit: string;
  readonly working: (display: string) => string;
}

const ADD_WORDS: AddLocationWords = {
  title: 'Add a location',
  submit: 'Add location',
  working: (display) => `Adding ${display}: writing to it and dealing the key shares again…`,
};

export function AddLocation({
  client,
  taken,
  onClose,
  onAdded,
  commit,
  words = ADD_WORDS,
  fixedName,
  domains,
  kind,
}: {
  client: Client;
  taken: readonly string[];
  onClose: () => void;
  onAdded: (name: string, display: string) => void;
  commit?: CommitLocation;
  words?: AddLocationWords;
  /** The location's name when it has one already (a new address for it): no name field. */
  fixedName?: string;
  /** The vault's failure domains so far: a domain field is offered, with them as suggestions. */
  domains?: readonly string[];
  /** The kind chosen at first (a node's enrolment: its new line). */
  kind?: LocationFields['kind'];
}) {
  const [domain, setDomain] = useState('');
  const [fields, setFields] = useState<LocationFields>(kind ? { ...EMPTY_FIELDS, kind } : EMPTY_FIELDS);
  const [step, setStep] = useState<Step>({ kind: 'form' });
  const [invalid, setInvalid] = useState<{ field: FieldName; message: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A password was given for an attempt that failed: it is gone, and must be typed again
  // (else a second click would add the location without it).
  const [retype, setRetype] = useState(false);
  // Bumped by every submit and by Cancel: an answer for an older attempt is dropped.
  const attempt = useRef(0);
  const form = useRef<HTMLFormElement>(null);
  const passwordInput = useRef<HTMLInputElement>(null);
  const keyPassphraseInput = useRef<HTMLInputElement>(null);

  const suggestion = suggestName(fields, taken);
  const name = fixedName ?? (fields.name.trim() === '' ? suggestion : fields.name.trim());
  const set = (change: Partial<LocationFields>): void => {
    setFields((f) => ({ ...f, ...change }));
    setInvalid(null);
  };
  const fieldError = (field: FieldName): string | null => (invalid?.field === field ? invalid.message : null);
  const passwordChanged = (hasPassword: boolean): void => {
    set({ hasPassword });
    setRetype(false);
  };

  const chooseFolder = async (): Promise<void> => {
    try {
      const folder = await client.api.chooseFolder();
      if (folder) set({ folder });
    } catch (e) {
      setError(errorText(e));
    }
  };

  const fail = (message: string): void => {
    setError(message);
    setStep({ kind: 'form' });
  };

  const add = async (chosenName: string, display: string, hostKey: string | undefined): Promise<void> => {
    const mine = ++attempt.current;
    const password = fields.hasPassword ? (passwordInput.current?.value ?? '') : null;
    const keyPassphrase = fields.kind === 'sftp' && fields.auth === 'key' ? keyPassphraseInput.current?.value : '';
    const built =
      password === ''
        ? ({ ok: false, field: 'password', message: 'Give the password again.' } as const)
        : buildLocation(fields, chosenName);
    if (!built.ok) {
      setInvalid({ field: built.field, message: built.message });
      setStep({ kind: 'form' });
      return;
    }
    const secretName = mainSecret(fields.kind);
    const secrets = {
      ...(secretName !== null && password !== null ? { [secretName]: password } : {}),
      ...(keyPassphrase ? { keyPassphrase } : {}),
    };
    const location: LocationInput = {
      ...built.location,
      ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
      ...(hostKey !== undefined ? { hostKey } : {}),
    };
    const allow = built.allowInsecureHttp ? { allowInsecureHttp: true } : {};
    setStep({ kind: 'adding', display });
    try {
      if (commit) await commit(location, hostKey, display, built.allowInsecureHttp);
      else
        await client.api.addLocation({
          location,
          ...(hostKey !== undefined ? { hostKey } : {}),
          ...allow,
          ...(domain.trim() !== '' ? { domain: domain.trim() } : {}),
        });
      if (mine === attempt.current) onAdded(chosenName, display);
    } catch (e) {
      if (mine !== attempt.current) return;
      const message = errorText(e);
      fail(
        hostKey !== undefined && /is not pinned/.test(message)
          ? `The server now presents a different host key than the one you confirmed (${hostKey}). Do not add it until its owner has explained why.`
          : message,
      );
    } finally {
      // The secrets are typed again for another attempt: they are not kept past the call.
      if (passwordInput.current) passwordInput.current.value = '';
      if (keyPassphraseInput.current) keyPassphraseInput.current.value = '';
      if (password !== null) {
        setFields((f) => ({ ...f, hasPassword: false }));
        setRetype(true);
      }
    }
  };

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setError(null);
    const built: ReturnType<typeof buildLocation> = taken.includes(name)
      ? { ok: false, field: 'name', message: `A location is called ${name} already: choose another name.` }
      : retype && !fields.hasPassword && (fields.kind !== 'sftp' || fields.auth === 'password')
        ? { ok: false, field: 'password', message: 'Type the password again: it is not kept after an attempt.' }
        : buildLocation(fields, name);
    if (!built.ok) {
      setInvalid({ field: built.field, message: built.message });
      form.current?.querySelector<HTMLElement>(`[data-field="${built.field}"]`)?.focus();
      return;
    }
    const mine = ++attempt.current;
    setStep({ kind: 'probing' });
    let probe: LocationProbe;
    try {
      probe = await client.api.probeLocation({ location: built.location });
    } catch (e) {
      if (mine === attempt.current) fail(errorText(e));
      return;
    }
    if (mine !== attempt.current) return;
    if (probe.kind === 'sftp' && probe.hostKey !== null) {
      setStep({ kind: 'confirm', name, probe: { ...probe, hostKey: probe.hostKey } });
      return;
    }
    await add(name, probe.display, undefined);
  };

  const cancel = (): void => {
    attempt.current++;
    if (step.kind === 'confirm' || step.kind === 'probing') {
      setStep({ kind: 'form' });
      // Back to the form as it was, with the keyboard on its button.
      requestAnimationFrame(() => form.current?.querySelector<HTMLElement>('button[type="submit"]')?.focus());
    } else {
      onClose();
    }
  };

  const busy = step.kind === 'probing' || step.kind === 'adding';
  const confirming = step.kind === 'confirm' ? step : null;
  // One dialog for both steps: the form stays mounted (hidden) under the host key question,
  // so Cancel comes back to it as it was, and Trust still finds the password in its input.
  return (
    <Modal
      title={confirming ? 'Trust this server?' : words.title}
      onClose={step.kind === 'adding' ? () => undefined : cancel}
      wide
    >
      {confirming ? (
        <HostKeyQuestion
          display={confirming.probe.display}
          hostKey={confirming.probe.hostKey}
          onCancel={cancel}
          onTrust={() => void add(confirming.name, confirming.probe.display, confirming.probe.hostKey)}
        />
      ) : null}
      <form
        ref={form}
        onSubmit={(e) => {
          // React passes events up through the portal: the first run's own form must not see this one.
          e.stopPropagation();
          void submit(e);
        }}
        noValidate
        aria-label={words.title}
        hidden={!!confirming}
      >
        <fieldset className="segmented kind-choice" disabled={busy}>
          <legend className="sr-only">Kind of location</legend>
          {KINDS.map((k) => (
            <label key={k.id}>
              <input
                type="radio"
                name="location-kind"
                checked={fields.kind === k.id}
                onChange={() => {
                  // The password input goes away with the kind it belongs to.
                  set({ kind: k.id, hasPassword: false });
                  setRetype(false);
                  setError(null);
                }}
              />{' '}
              {k.label}
            </label>
          ))}
        </fieldset>

        <fieldset className="plain" disabled={busy}>
          {fields.kind === 'local' ? (
            <Field
              label="Folder"
              error={fieldError('folder')}
              hint={
                client.desktop
                  ? 'A USB disk, a NAS mount, a synced folder. It must exist.'
                  : 'A full path on the computer running Shardvault: a USB disk, a NAS mount, a synced folder. It must exist.'
              }
            >
              {(props) => (
                <div className="row">
                  <input
                    {...props}
                    data-field="folder"
                    className="grow mono"
                    value={fields.folder}
                    spellCheck={false}
                    autoComplete="off"
                    placeholder="/media/usb/vault"
                    onChange={(e) => set({ folder: e.target.value })}
                  />
                  {client.desktop ? (
                    <button type="button" onClick={() => void chooseFolder()}>
                      Choose folder…
                    </button>
                  ) : null}
                </div>
              )}
            </Field>
          ) : null}

          {fields.kind === 'sftp' ? (
            <>
              <div className="grid-2">
                <Field label="User" error={fieldError('user')}>
                  {(props) => (
                    <input
                      {...props}
                      data-field="user"
                      value={fields.user}
                      spellCheck={false}
                      autoComplete="off"
                      placeholder="backup"
                      onChange={(e) => set({ user: e.target.value })}
                    />
                  )}
                </Field>
                <div className="host-port">
                  <Field label="Host" error={fieldError('host')}>
                    {(props) => (
                      <input
                        {...props}
                        data-field="host"
                        value={fields.host}
                        spellCheck={false}
                        autoComplete="off"
                        placeholder="nas.example.org"
                        onChange={(e) => set({ host: e.target.value })}
                      />
                    )}
                  </Field>
                  <Field label="Port" error={fieldError('port')}>
                    {(props) => (
                      <input
                        {...props}
                        data-field="port"
                        inputMode="numeric"
                        value={fields.port}
                        onChange={(e) => set({ port: e.target.value })}
                      />
                    )}
                  </Field>
                </div>
              </div>
              <Field
                label="Folder on the server"
                error={fieldError('path')}
                hint="A full path; the folder must exist and the user must be able to write in it."
              >
                {(props) => (
                  <input
                    {...props}
                    data-field="path"
                    className="mono"
                    value={fields.path}
                    spellCheck={false}
                    autoComplete="off"
                    placeholder="/srv/shardvault"
                    onChange={(e) => set({ path: e.target.value })}
                  />
                )}
              </Field>
              <div className="segmented" role="radiogroup" aria-label="Log in with">
                <label>
                  <input
                    type="radio"
                    name="sftp-auth"
                    checked={fields.auth === 'key'}
                    onChange={() => set({ auth: 'key', hasPassword: false })}
                  />{' '}
                  Key file
                </label>
                <label>
                  <input
                    type="radio"
                    name="sftp-auth"
                    checked={fields.auth === 'password'}
                    onChange={() => set({ auth: 'password' })}
                  />{' '}
                  Password
                </label>
              </div>
              {fields.auth === 'key' ? (
                <>
                  <Field
                    label="Private key file"
                    error={fieldError('keyFile')}
                    hint="A path on the computer running Shardvault, e.g. /home/you/.ssh/id_ed25519."
                  >
                    {(props) => (
                      <input
                        {...props}
                        data-field="keyFile"
                        className="mono"
                        value={fields.keyFile}
                        spellCheck={false}
                        autoComplete="off"
                        onChange={(e) => set({ keyFile: e.target.value })}
                      />
                    )}
                  </Field>
                  <Field
                    label="Key passphrase (optional)"
                    hint="Only for a key that has one. Sealed in this computer’s profile under the vault passphrase."
                  >
                    {(props) => (
                      <input
                        {...props}
                        ref={keyPassphraseInput}
                        data-field="keyPassphrase"
                        type="password"
                        autoComplete="off"
                        spellCheck={false}
                      />
                    )}
                  </Field>
                </>
              ) : (
                <PasswordField input={passwordInput} error={fieldError('password')} onChange={passwordChanged} />
              )}
            </>
          ) : null}

          {fields.kind === 'node' ? (
            <Field
              label="Node address"
              error={fieldError('nodeAddress')}
              hint="The line `shardvault node serve` printed first; its code enrols this device once."
            >
              {(props) => (
                <input
                  {...props}
                  data-field="nodeAddress"
                  className="mono"
                  value={fields.nodeAddress}
                  spellCheck={false}
                  autoComplete="off"
                  placeholder="node+https://nas.example.org:4431/?fingerprint=SHA256:…&enrol=…"
                  onChange={(e) => set({ nodeAddress: e.target.value })}
                />
              )}
            </Field>
          ) : null}

          {fields.kind === 'webdav' ? (
            <>
              <Field
                label="Address"
                error={fieldError('url')}
                hint="The WebDAV folder’s address, https:// (or http:// on a network you trust)."
              >
                {(props) => (
                  <input
                    {...props}
                    data-field="url"
                    className="mono"
                    type="url"
                    value={fields.url}
                    spellCheck={false}
                    autoComplete="off"
                    placeholder="https://dav.example.org/shardvault"
                    onChange={(e) => set({ url: e.target.value })}
                  />
                )}
              </Field>
              <div className="grid-2">
                <Field label="User" error={fieldError('webdavUser')}>
                  {(props) => (
                    <input
                      {...props}
                      data-field="webdavUser"
                      value={fields.webdavUser}
                      spellCheck={false}
                      autoComplete="off"
                      onChange={(e) => set({ webdavUser: e.target.value })}
                    />
                  )}
                </Field>
                <PasswordField input={passwordInput} error={fieldError('password')} onChange={passwordChanged} />
              </div>
              {/^http:/i.test(fields.url.trim()) && fields.hasPassword ? (
                <label className="check">
                  <input
                    type="checkbox"
                    data-field="insecureHttp"
                    checked={fields.insecureHttp}
                    onChange={(e) => set({ insecureHttp: e.target.checked })}
                  />{' '}
                  Send the password over plain http:// anyway. Anyone on the network between this computer and the
                  server can read it; Shardvault refuses this except to this computer unless you allow it here.
                </label>
              ) : null}
              {/^https:/i.test(fields.url.trim()) ? (
                <Field
                  label="CA certificate file (optional)"
                  error={fieldError('caFile')}
                  hint="For a server with a self-signed certificate: its CA in PEM, on the computer running Shardvault."
                >
                  {(props) => (
                    <input
                      {...props}
                      data-field="caFile"
                      className="mono"
                      value={fields.caFile}
                      spellCheck={false}
                      autoComplete="off"
                      onChange={(e) => set({ caFile: e.target.value })}
                    />
                  )}
                </Field>
              ) : null}
            </>
          ) : null}

          {fields.kind === 's3' ? (
            <>
              {S3_FIELDS.map((f) => (
                <Field
                  key={f.name}
                  label={'optional' in f ? `${f.label} (optional)` : f.label}
                  error={fieldError(f.name)}
                >
                  {(props) =>
                    f.type === 'choice' ? (
                      <select
                        {...props}
                        data-field={f.name}
                        value={fields.s3[f.name] ?? f.choices[0]}
                        onChange={(e) => set({ s3: { ...fields.s3, [f.name]: e.target.value } })}
                      >
                        {f.choices.map((c) => (
                          <option key={c} value={c}>
                            {c}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <input
                        {...props}
                        data-field={f.name}
                        className={f.type === 'url' ? 'mono' : undefined}
                        type={f.type === 'url' ? 'url' : 'text'}
                        value={fields.s3[f.name] ?? ''}
                        spellCheck={false}
                        autoComplete="off"
                        placeholder={'placeholder' in f ? f.placeholder : undefined}
                        onChange={(e) => set({ s3: { ...fields.s3, [f.name]: e.target.value } })}
                      />
                    )
                  }
                </Field>
              ))}
              <PasswordField
                label="Secret key"
                input={passwordInput}
                error={fieldError('password')}
                onChange={passwordChanged}
              />
              {/^http:/i.test((fields.s3['endpoint'] ?? '').trim()) ? (
                <label className="check">
                  <input
                    type="checkbox"
                    data-field="insecureHttp"
                    checked={fields.insecureHttp}
                    onChange={(e) => set({ insecureHttp: e.target.checked })}
                  />{' '}
                  Talk to it over plain http:// anyway. Anyone on the network between this computer and the server can
                  read the access key ID and replay requests; Shardvault refuses this except to this computer unless you
                  allow it here.
                </label>
              ) : null}
            </>
          ) : null}

          {fixedName === undefined ? (
            <Field
              label="Name in the vault (optional)"
              error={fieldError('name')}
              hint="How the dashboard and the placement view call it."
            >
              {(props) => (
                <input
                  {...props}
                  data-field="name"
                  value={fields.name}
                  spellCheck={false}
                  autoComplete="off"
                  placeholder={suggestion}
                  onChange={(e) => set({ name: e.target.value })}
                />
              )}
            </Field>
          ) : null}
          {domains !== undefined ? <DomainField domains={domains} value={domain} onChange={setDomain} /> : null}
        </fieldset>

        {error ? <AddError message={error} /> : null}
        {error && fields.kind === 'local' && fields.folder.trim() !== '' ? (
          <CreateFolder
            client={client}
            location={{ kind: 'local', fields: { folder: fields.folder.trim() } }}
            onCreated={() => setError(null)}
          />
        ) : null}
        <div className="actions">
          {step.kind === 'probing' ? <Spinner label="Looking at the location…" /> : null}
          {step.kind === 'adding' ? <Spinner label={words.working(step.display)} /> : null}
          <button type="button" onClick={cancel} disabled={step.kind === 'adding'}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {words.submit}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function PasswordField({
  label = 'Password',
  input,
  error,
  onChange,
}: {
  label?: string;
  input: RefObject<HTMLInputElement | null>;
  error: string | null;
  onChange: (hasPassword: boolean) => void;
}) {
  return (
    <Field label={label} error={error} hint="Sealed in this computer’s profile under the vault passphrase.">
      {(props) => (
        <input
          {...props}
          ref={input}
          data-field="password"
          type="password"
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => onChange(e.target.value !== '')}
        />
      )}
    </Field>
  );
}

function HostKeyQuestion({
  display,
  hostKey,
  onCancel,
  onTrust,
}: {
  display: string;
  hostKey: string;
  onCancel: () => void;
  onTrust: () => void;
}) {
  return (
    <div data-testid="host-key-confirm">
      <div className="hostkey">
        <p>
          <span className="muted">Server</span> <code>{display}</code>
        </p>
        <p>
          This server presents host key{' '}
          <code className="fingerprint" data-testid="host-key">
            {hostKey}
          </code>
        </p>
        <p>
          Check it with the server’s owner (ssh-keygen -lf) before trusting it. On the server,{' '}
          <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code> prints it; if the two differ, someone may be
          between you and the server.
        </p>
      </div>
      <div className="actions">
        <button type="button" onClick={onCancel} autoFocus>
          Cancel
        </button>
        <button type="button" className="primary" onClick={onTrust}>
          Trust
        </button>
      </div>
    </div>
  );
}

function AddError({ message }: { message: string }) {
  const { words, detail } = locationTrouble(message);
  return (
    <ErrorNote>
      {words ? (
        <>
          {words}
          <span className="trouble-detail">{detail}</span>
        </>
      ) : (
        detail
      )}
    </ErrorNote>
  );
}

/**
 * A location's failure domain: free text, with the vault's domains and the usual ones
 * suggested. Locations in one domain count as one for "survive X" and "secret against Y".
 */
export function DomainField({
  domains,
  value,
  onChange,
}: {
  domains: readonly string[];
  value: string;
  onChange: (domain: string) => void;
}) {
  const suggestions = [...new Set([...domains, 'home', 'office'])];
  // One per location in the first run's list: each its own suggestions list.
  const listId = `domain-suggestions-${useId()}`;
  return (
    <Field
      label="Failure domain (optional)"
      hint="Locations in the same building, or at the same provider, fail together: give them the same domain. The vault then counts them as one."
    >
      {(props) => (
        <>
          <input
            {...props}
            data-field="domain"
            list={listId}
            value={value}
            spellCheck={false}
            autoComplete="off"
            placeholder="none: it fails on its own"
            onChange={(e) => onChange(e.target.value)}
          />
          <datalist id={listId}>
            {suggestions.map((d) => (
              <option key={d} value={d} />
            ))}
          </datalist>
          <div className="domain-picks" role="group" aria-label="Same as another location">
            {domains.map((d) => (
              <button type="button" className="ghost small" key={d} onClick={() => onChange(d)}>
                Same building or provider as {d}
              </button>
            ))}
          </div>
        </>
      )}
    </Field>
  );
}
