// The printable recovery kit (Settings → Print recovery kit): the words are the CLI's
// (src/shared/kit.ts), drawn as a page. Shown in a dialog first; printing shows only the
// sheet (body.printing-kit in styles.css): the desktop app saves it as a PDF (main's
// webContents.printToPDF), a browser prints it with window.print().
import { useEffect, useState } from 'react';
import { createPortal } from 'react-dom';
import { KIT_TITLE, kitPolicyWords, kitSteps, type KitFacts } from '../../../shared/kit';
import type { Client } from '../bridge/client';
import { ErrorNote, Modal, Note, Spinner, errorText } from '../ui/ui';

function Sheet({ kit }: { kit: KitFacts }) {
  return (
    <article className="kit-sheet" aria-label={KIT_TITLE}>
      <h1>{KIT_TITLE}</h1>
      <p className="muted">Made {kit.made.slice(0, 10)}. Keep it with your papers, apart from your passphrase.</p>
      <dl className="kit-facts">
        <div>
          <dt>Vault id</dt>
          <dd>
            <code data-testid="kit-vault-id">{kit.vaultId}</code>
          </dd>
        </div>
        <div>
          <dt>Vault key fingerprint</dt>
          <dd>
            <code>{kit.fingerprint ?? 'unlock once on this device to print it'}</code>
          </dd>
        </div>
      </dl>
      <h2>Where the vault lives</h2>
      <table className="kit-locations">
        <thead>
          <tr>
            <th scope="col">Location</th>
            <th scope="col">Kind</th>
            <th scope="col">Where</th>
            <th scope="col">Domain</th>
          </tr>
        </thead>
        <tbody>
          {kit.locations.map((l) => (
            <tr key={l.name} data-testid={`kit-location-${l.name}`}>
              <td>{l.name}</td>
              <td>{l.kind}</td>
              <td>
                <code>{l.display}</code>
              </td>
              <td>{l.domain ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>The policy</h2>
      {kitPolicyWords(kit).map((s) => (
        <p key={s}>{s}</p>
      ))}
      <h2>On a new machine</h2>
      <ol>
        {kitSteps(kit).map((s) => (
          <li key={s}>{s}</li>
        ))}
      </ol>
      <h2>Recovery code</h2>
      <p className="muted">Written by hand: it opens the vault without the passphrase.</p>
      <div className="kit-blank" aria-label="Blank for the recovery code">
        {Array.from({ length: 8 }, (_, i) => (
          <span key={i} />
        ))}
      </div>
    </article>
  );
}

export function PrintKit({ client, onClose }: { client: Client; onClose: () => void }) {
  const [kit, setKit] = useState<KitFacts | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    client.api.kitFacts().then(setKit, (e: unknown) => setError(errorText(e)));
  }, [client]);
  // Only the sheet prints while this is open.
  useEffect(() => {
    document.body.classList.add('printing-kit');
    return () => document.body.classList.remove('printing-kit');
  }, []);

  const print = async (): Promise<void> => {
    setError(null);
    setSaved(false);
    try {
      if (client.desktop) setSaved(await client.api.printToPdf({ name: 'shardvault-recovery-kit.pdf' }));
      else window.print();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <>
      <Modal title="Recovery kit" onClose={onClose} wide>
        <p className="muted">
          One page to get the vault back on a new machine. It holds no passphrase, password or key; write the recovery
          code in by hand.
        </p>
        {error ? <ErrorNote>{error}</ErrorNote> : null}
        {saved ? <Note tone="ok">Saved as a PDF.</Note> : null}
        {kit ? <Sheet kit={kit} /> : error ? null : <Spinner label="Gathering the kit…" />}
        <div className="actions">
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button type="button" className="primary" disabled={!kit} onClick={() => void print()}>
            {client.desktop ? 'Save as PDF…' : 'Print…'}
          </button>
        </div>
      </Modal>
      {kit
        ? createPortal(
            <div className="kit-print">
              <Sheet kit={kit} />
            </div>,
            document.body,
          )
        : null}
    </>
  );
}
