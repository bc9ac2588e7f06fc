// The guard's own changes in the app (docs/GUARD.md, "In the app"): "Re-share now" when the
// vault's node locations and the guard's nodes differ (a node added or removed, or a
// re-sharing cut short), and guardians added or removed by choosing a device. A change waits
// for the policy's approvals like an opening: "waiting for n of g approvals", live, from the
// engine's progress events; a guardian answers it on the Pending requests list below.
import { useEffect, useState } from 'react';
import { GUARD_CHANGE, type GuardRequest, type StatusReport } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { plural } from '../format';
import { ErrorNote, Note, Spinner, errorText } from '../ui/ui';

/** A device key shown short: its first 10 characters. */
const short = (key: string): string => `${key.slice(0, 10)}…`;

export function GuardPanel({
  client,
  status,
  requests,
}: {
  client: Client;
  status: StatusReport;
  /** The pending requests the list below read: their devices may be made guardians. */
  requests: readonly GuardRequest[];
}) {
  const guard = status.guard!;
  const [busy, setBusy] = useState<string | null>(null);
  const [waiting, setWaiting] = useState<{ done: number; total: number } | null>(null);
  const [told, setTold] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState('');

  useEffect(
    () =>
      client.onProgress((event) => {
        if (event.op === 'approval' && event.name === GUARD_CHANGE)
          setWaiting({ done: event.done, total: event.total });
      }),
    [client],
  );

  const run = async (what: string, work: () => Promise<string>): Promise<void> => {
    setBusy(what);
    setWaiting(null);
    setError(null);
    setTold(null);
    try {
      setTold(await work());
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(null);
      setWaiting(null);
    }
  };

  const reshare = () =>
    run('Re-sharing the guard key…', async () => {
      const r = await client.api.reshareGuard();
      return r.changed
        ? `Re-shared: guarded files open with ${guard.threshold} of ${r.nodes.join(', ')}.` +
            (r.warnings.length > 0 ? ` ${r.warnings.join('; ')}.` : '')
        : 'The guard already holds its key on every node location.';
    });
  const change = (op: 'add' | 'remove', device: string) =>
    run(op === 'add' ? 'Adding a guardian…' : 'Removing a guardian…', async () => {
      const r = await client.api.changeGuardian({ op, device });
      setChosen('');
      return `${op === 'add' ? 'Added' : 'Removed'} guardian ${short(device)}: ${plural(r.guardians, 'guardian')}, ${plural(r.approvals, 'approval')} per opening.`;
    });

  // Devices one may make a guardian: this one, and those that asked for something lately.
  const candidates = new Map<string, string>();
  if (guard.device !== null && !guard.guardianKeys.includes(guard.device)) candidates.set(guard.device, 'this device');
  for (const r of requests)
    if (!guard.guardianKeys.includes(r.deviceKey) && !candidates.has(r.deviceKey))
      candidates.set(r.deviceKey, r.mine ? 'this device' : r.device);
  const removable = guard.guardians > 1 && guard.guardians > guard.approvals;
  const enrolled = guard.device !== null;

  return (
    <section className="guard-panel" aria-label="Guard" data-testid="guard-panel">
      <h2 className="section-title">Guard</h2>
      <p className="muted small">
        Guarded files open with {guard.threshold} of the guard&apos;s {guard.nodes} nodes
        {guard.approvals > 0 ? ` and ${plural(guard.approvals, 'guardian approval')}` : ''}. Changing the guard needs
        the same approvals{guard.approvals > 0 ? ' (from a guardian other than the device asking)' : ''}.
      </p>
      {guard.reshare ? (
        <Note tone="warn">
          <span data-testid="reshare-needed">
            The guard&apos;s nodes are not the vault&apos;s node locations yet (a node was added or removed, or a
            re-sharing is unfinished).
          </span>{' '}
          <button
            type="button"
            className="small primary"
            disabled={busy !== null || !enrolled}
            onClick={() => void reshare()}
          >
            Re-share now
          </button>
        </Note>
      ) : null}
      <ul className="guardians" aria-label="Guardians">
        {guard.guardianKeys.map((k) => (
          <li key={k} data-testid="guardian">
            <code>{short(k)}</code>
            {k === guard.device ? <span className="muted small"> (this device)</span> : null}{' '}
            {removable ? (
              <button
                type="button"
                className="small ghost"
                disabled={busy !== null || !enrolled}
                onClick={() => void change('remove', k)}
                aria-label={`Remove guardian ${short(k)}`}
              >
                Remove
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      <form
        className="add-guardian"
        onSubmit={(e) => {
          e.preventDefault();
          if (chosen) void change('add', chosen);
        }}
      >
        <label>
          Make a guardian{' '}
          <select value={chosen} onChange={(e) => setChosen(e.target.value)} disabled={busy !== null || !enrolled}>
            <option value="">Choose a device…</option>
            {[...candidates].map(([key, name]) => (
              <option key={key} value={key}>
                {name} ({short(key)})
              </option>
            ))}
          </select>
        </label>{' '}
        <button type="submit" className="small" disabled={busy !== null || !enrolled || chosen === ''}>
          Add guardian
        </button>
      </form>
      {busy !== null ? (
        waiting !== null && waiting.total > 0 ? (
          <p data-testid="guard-change-waiting">
            waiting for {waiting.done} of {plural(waiting.total, 'approval')}: a guardian answers it under Pending
            requests on their device
          </p>
        ) : (
          <Spinner label={busy} />
        )
      ) : null}
      {told ? <Note tone="ok">{told}</Note> : null}
      {error ? <ErrorNote onDismiss={() => setError(null)}>{error}</ErrorNote> : null}
    </section>
  );
}
