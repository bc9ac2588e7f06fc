// "Open as drive": the vault served as a WebDAV drive on this computer only (the engine's
// drive/), with its address and a password made for it, and how each system's file manager
// connects. The drive stops here, or when the vault locks.
import { useEffect, useState } from 'react';
import type { DriveInfo } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { ErrorNote, Modal, Note, Spinner, errorText } from '../ui/ui';

export function DrivePanel({ client, onClose }: { client: Client; onClose: () => void }) {
  const [drive, setDrive] = useState<DriveInfo | null>(null);
  const [busy, setBusy] = useState(true);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    client.api
      .driveStatus()
      .then((d) => live && setDrive(d))
      .catch((e: unknown) => live && setError(errorText(e)))
      .finally(() => live && setBusy(false));
    return () => {
      live = false;
    };
  }, [client]);

  const act = async (work: () => Promise<DriveInfo | null>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setDrive(await work());
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const start = (): Promise<void> => act(() => client.api.startDrive());
  const stop = (): Promise<void> =>
    act(async () => {
      await client.api.stopDrive();
      return null;
    });

  return (
    <Modal title="Open as drive" onClose={onClose} wide>
      <p>
        Your file manager can show the vault as a network drive, served on this computer only. Files opened there are
        read and checked as they stream; files saved there are stored as new versions.
      </p>
      {error ? (
        <ErrorNote>
          <strong>The drive did not start.</strong> {error}
        </ErrorNote>
      ) : null}
      {drive ? (
        <div data-testid="drive-info">
          <Note tone="ok">The drive is open. It closes when you stop it or the vault locks.</Note>
          <dl className="drive-details">
            <CopyRow label="Address" value={drive.address} testId="drive-address" />
            <CopyRow label="User" value={drive.user} testId="drive-user" />
            <CopyRow label="Password" value={drive.password} testId="drive-password" />
          </dl>
          <h3>Connect to it</h3>
          <ul className="drive-howto">
            <li>
              <strong>macOS:</strong> in the Finder, Go ▸ Connect to Server (⌘K), enter the address, then the user and
              password.
            </li>
            <li>
              <strong>Windows:</strong> in File Explorer, This PC ▸ Map network drive, enter the address as the folder,
              tick “Connect using different credentials”, then the user and password.
            </li>
            <li>
              <strong>Linux:</strong> in Files, Other Locations ▸ Connect to Server, enter{' '}
              <code>dav://127.0.0.1:{drive.port}/</code>; or mount it with davfs2 or rclone’s WebDAV backend.
            </li>
          </ul>
          <p className="hint">
            The password works only while this drive runs. Your system may keep copies of opened files in its own cache.
          </p>
        </div>
      ) : null}
      <div className="actions">
        {busy ? <Spinner label={drive ? 'Stopping…' : 'Starting…'} /> : null}
        <button type="button" onClick={onClose} disabled={busy}>
          Done
        </button>
        {drive ? (
          <button type="button" className="danger" onClick={() => void stop()} disabled={busy}>
            Stop the drive
          </button>
        ) : (
          <button type="button" className="primary" onClick={() => void start()} disabled={busy}>
            Start the drive
          </button>
        )}
      </div>
    </Modal>
  );
}

function CopyRow({ label, value, testId }: { label: string; value: string; testId: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async (): Promise<void> => {
    await navigator.clipboard.writeText(value);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <div className="drive-row">
      <dt>{label}</dt>
      <dd>
        <code data-testid={testId}>{value}</code>{' '}
        <button
          type="button"
          className="small"
          aria-label={`Copy the ${label.toLowerCase()}`}
          onClick={() => void copy().catch(() => undefined)}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </dd>
    </div>
  );
}
