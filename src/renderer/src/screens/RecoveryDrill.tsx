// The recovery drill: tick the locations to suppose gone and see, in plain words, whether
// every file would still read and the vault still unlock. Nothing is changed; the engine
// logs the drill. Locations unreachable now are counted gone whether ticked or not.
import { useState } from 'react';
import type { DrillReport, LocationStatus } from '../../../shared/api';
import { drillWords } from '../../../shared/words';
import type { Client } from '../bridge/client';
import { plural } from '../format';
import { ErrorNote, Field, Modal, Note, Spinner, errorText } from '../ui/ui';

export function RecoveryDrill({
  client,
  locations,
  onClose,
}: {
  client: Client;
  locations: readonly LocationStatus[];
  onClose: () => void;
}) {
  const [lose, setLose] = useState<ReadonlySet<string>>(new Set());
  const [open, setOpen] = useState(false);
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<DrillReport | null>(null);
  const [error, setError] = useState<string | null>(null);

  const toggle = (name: string, on: boolean): void => {
    setReport(null);
    setLose((s) => {
      const next = new Set(s);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
  };

  const run = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    setReport(null);
    try {
      setReport(
        await client.api.drill({
          lose: locations.filter((l) => lose.has(l.name)).map((l) => l.name),
          ...(open ? { passphrase } : {}),
        }),
      );
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="Recovery drill" onClose={busy ? () => undefined : onClose}>
      <p>
        Which locations should the drill suppose gone (a fire, a theft, a dead disk)? Nothing is changed: the drill only
        counts where every shard and key share is.
      </p>
      <fieldset className="drill-locations" disabled={busy}>
        <legend>Suppose these are gone</legend>
        {locations.map((l) => (
          <label key={l.name} className="check check-block">
            <input
              type="checkbox"
              checked={!l.reachable || lose.has(l.name)}
              disabled={!l.reachable}
              onChange={(e) => toggle(l.name, e.target.checked)}
            />{' '}
            {l.name}
            {l.reachable ? '' : ' (unreachable now: counted as gone)'}
          </label>
        ))}
      </fieldset>
      <label className="check check-block">
        <input type="checkbox" checked={open} disabled={busy} onChange={(e) => setOpen(e.target.checked)} /> Also open
        the vault afresh from the others and read up to 10 files back
      </label>
      {open ? (
        <Field label="Passphrase" hint="The drill opens the vault as a new machine would, so it needs the passphrase.">
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="current-password"
              value={passphrase}
              disabled={busy}
              onChange={(e) => setPassphrase(e.target.value)}
            />
          )}
        </Field>
      ) : null}
      {error ? (
        <ErrorNote>
          <strong>The drill did not run.</strong> {error}
        </ErrorNote>
      ) : null}
      {report ? <Verdict report={report} /> : null}
      <div className="actions">
        {busy ? <Spinner label="Counting shards and key shares…" /> : null}
        <button type="button" onClick={onClose} disabled={busy}>
          Done
        </button>
        <button
          type="button"
          className="primary"
          onClick={() => void run()}
          disabled={busy || (open && passphrase === '')}
        >
          Run the drill
        </button>
      </div>
    </Modal>
  );
}

function Verdict({ report }: { report: DrillReport }) {
  const o = report.open;
  return (
    <div role="status" data-testid="drill-verdict">
      <Note tone={report.ok ? 'ok' : 'warn'}>{drillWords(report)}.</Note>
      <p className="hint">
        {plural(report.unlock.shares, 'key share')} would be left; unlocking needs {report.unlock.threshold}.
      </p>
      {o ? (
        <div>
          {o.opened
            ? `Opened afresh from the remaining locations: ${o.read} of ${plural(o.tried, 'file')} read back byte for byte.`
            : 'The vault could not be opened afresh from the remaining locations.'}
          {o.problems.length > 0 ? (
            <ul className="drill-problems">
              {o.problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
