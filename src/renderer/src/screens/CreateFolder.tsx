// Under a folder location that could not be used: when the engine finds it missing but
// makeable (its parent is there), a "Create it" button that makes its last folder
// (checkFolder with create: never a missing parent, never through a link).
import { useEffect, useState } from 'react';
import type { FolderCheck, LocationInput } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { errorText } from '../ui/ui';

export function CreateFolder({
  client,
  location,
  onCreated,
}: {
  client: Client;
  location: LocationInput;
  onCreated: () => void;
}) {
  // The request's identity: the effect reruns when the address changes, not on each render.
  const key = JSON.stringify([location.kind, location.fields]);
  const [check, setCheck] = useState<FolderCheck | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setCheck(null);
    client.api.checkFolder({ location }).then(
      (found) => live && setCheck(found),
      () => undefined, // nothing to offer: the error above says what failed
    );
    return () => {
      live = false;
    };
  }, [client, key]);

  if (check?.state !== 'missing') return null;
  const create = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const made = await client.api.checkFolder({ location, create: true });
      if (made.state === 'created' || made.state === 'present') onCreated();
      else setError(made.error ?? 'The folder could not be made.');
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <p className="create-folder" data-testid="create-folder">
      {check.display} does not exist yet.{' '}
      <button type="button" className="small" disabled={busy} onClick={() => void create()}>
        Create it
      </button>
      {error ? <span className="field-error">{error}</span> : null}
    </p>
  );
}
