// "Sign in…" on a location this device learned from the vault (a new machine): the address
// is known (host, user, port, folder, and an SFTP server's pinned host key, from the sealed
// vault head) and shown filled in; only the secret is asked. The password stays in its input
// (uncontrolled) and goes to the engine once, as AddLocation does.
import { type FormEvent, useRef, useState } from 'react';
import type { LocationStatus, SignIn } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { KIND_WORD } from '../ui/LocationTile';
import { ErrorNote, Field, Modal, Spinner, errorText } from '../ui/ui';

export function SignInLocation({
  client,
  location,
  signIn,
  onClose,
  onSignedIn,
}: {
  client: Client;
  location: LocationStatus;
  signIn: SignIn;
  onClose: () => void;
  onSignedIn: () => void;
}) {
  const secret = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // An SFTP address that names a key file logs in with it: what it may lack is the key's passphrase.
  const withKey = location.kind === 'sftp' && signIn.keyFile !== null;
  const fixed: readonly (readonly [string, string])[] = [
    ['Server', signIn.host],
    ['Port', signIn.port === null ? 'default' : String(signIn.port)],
    ['User', signIn.user ?? '(none)'],
    ['Folder on the server', signIn.path],
    ...(withKey && signIn.keyFile !== null ? [['Key file', signIn.keyFile] as const] : []),
  ];

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    event.stopPropagation();
    const value = secret.current?.value ?? '';
    setBusy(true);
    setError(null);
    try {
      await client.api.signInLocation({
        name: location.name,
        ...(value === '' ? {} : withKey ? { keyPassphrase: value } : { password: value }),
      });
      onSignedIn();
    } catch (e) {
      if (secret.current) secret.current.value = '';
      setError(errorText(e));
      setBusy(false);
    }
  };

  return (
    <Modal title={`Sign in to ${location.name}`} onClose={busy ? () => undefined : onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate aria-label={`Sign in to ${location.name}`}>
        <p>
          {KIND_WORD(location.kind)} <code>{location.display}</code>: the vault knows where it is; this device needs its{' '}
          {withKey ? 'key’s passphrase' : 'password'} once, kept sealed under your passphrase.
        </p>
        {fixed.map(([label, value]) => (
          <Field key={label} label={label}>
            {(props) => <input {...props} value={value} readOnly spellCheck={false} />}
          </Field>
        ))}
        {signIn.hostKey ? (
          <p className="hint">
            The server must show the host key the vault pinned for it: <code>{signIn.hostKey}</code>. Another key is
            refused.
          </p>
        ) : null}
        <Field
          label={withKey ? 'Passphrase of the key' : 'Password'}
          hint={
            location.kind === 'sftp' && !withKey
              ? 'Leave it empty to log in with this computer’s SSH agent or its ~/.ssh keys.'
              : undefined
          }
        >
          {(props) => <input {...props} ref={secret} type="password" autoComplete="off" disabled={busy} autoFocus />}
        </Field>
        {error ? (
          <ErrorNote>
            <strong>Not signed in.</strong> {error}
          </ErrorNote>
        ) : null}
        <div className="actions">
          {busy ? <Spinner label={`Signing in to ${location.name}…`} /> : null}
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Sign in
          </button>
        </div>
      </form>
    </Modal>
  );
}
