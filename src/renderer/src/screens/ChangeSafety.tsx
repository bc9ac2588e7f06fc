// Settings → Change safety…: the first run's "How safe?" over the vault's locations as they
// are now, then the key shares dealt again and every file re-coded, with progress.
import { type FormEvent, useEffect, useRef, useState } from 'react';
import type { PolicyChangeReport, StatusReport } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { formatBytes, formatDuration, plural, sentence } from '../format';
import { ErrorNote, Modal, Note, ProgressBar, errorText } from '../ui/ui';
import { SafetyChoice } from './SafetyChoice';
import { usePolicyPreview } from '../policy';

export function ChangeSafety({
  client,
  status,
  onChanged,
}: {
  client: Client;
  status: StatusReport;
  /** The vault's policy (or its job) changed: the app reads its status again. */
  onChanged: () => void;
}) {
  const { vault, policyJob } = status;
  const locations = status.locations.length;
  const [open, setOpen] = useState(false);
  const [done, setDone] = useState<PolicyChangeReport | null>(null);
  const current = { survive: vault.total - vault.data, secretAgainst: vault.threshold - 1 };
  return (
    <section className="card settings-section" aria-labelledby="safety-title">
      <h2 id="safety-title">Safety</h2>
      <p className="muted">
        This vault survives losing {plural(current.survive, 'location')} and stays secret even if{' '}
        {plural(current.secretAgainst, 'location')} {current.secretAgainst === 1 ? 'colludes' : 'collude'}:{' '}
        {vault.total} shards per file over {plural(locations, 'location')}, any {vault.data} rebuild it,{' '}
        {vault.threshold} unlock it.
      </p>
      {policyJob ? (
        <Note tone="warn">
          Re-coding to {vault.data} of {vault.total}: {policyJob.filesDone} of {plural(policyJob.files, 'file')} done (
          {formatBytes(policyJob.bytesDone)} of {formatBytes(policyJob.bytes)}). Files not re-coded yet keep their old
          coding.
        </Note>
      ) : null}
      {done ? (
        <Note tone={done.left > 0 ? 'warn' : 'ok'}>
          Safety changed: {done.total} shards per file, any {done.data} rebuild it, {done.threshold} unlock it.
          {done.rotated ? ' The vault key was replaced: key shares kept from before open nothing.' : ''}{' '}
          {done.left > 0
            ? `${plural(done.left, 'file')} could not be re-coded now (a location away) and keep their old coding.`
            : `${plural(done.files, 'file')} re-coded.`}
        </Note>
      ) : null}
      <div className="setting">
        <button type="button" onClick={() => setOpen(true)}>
          {policyJob ? 'Resume re-coding…' : 'Change safety…'}
        </button>
      </div>
      {open ? (
        <ChangeSafetyDialog
          client={client}
          locations={status.locations}
          vault={vault}
          current={current}
          resume={policyJob !== null}
          onClose={() => setOpen(false)}
          onDone={(report) => {
            setDone(report);
            setOpen(false);
            onChanged();
          }}
        />
      ) : null}
    </section>
  );
}

/** The dialog itself: Settings opens it, and so does "Use it" after a location is added (`start`). */
export function ChangeSafetyDialog({
  client,
  locations,
  vault,
  current,
  start,
  resume,
  onClose,
  onDone,
}: {
  client: Client;
  /** The vault's locations as they are now, with their failure domains (n = their number). */
  locations: readonly { readonly name: string; readonly domain: string | null }[];
  /** The vault's numbers now: a choice that gives the same ones changes nothing. */
  vault: { readonly data: number; readonly total: number; readonly threshold: number };
  current: { survive: number; secretAgainst: number };
  /** The choice it opens with (default: the current one). */
  start?: { survive: number; secretAgainst: number };
  resume: boolean;
  onClose: () => void;
  onDone: (report: PolicyChangeReport) => void;
}) {
  const [choice, setChoice] = useState(start ?? current);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const started = useRef(0);
  // The engine's arithmetic, live: the rule `policy set` and init use (over failure domains
  // when locations share one), never worked out again here.
  const derived = usePolicyPreview(
    client,
    locations.map((l) => ({ name: l.name, domain: l.domain ?? '' })),
    choice.survive,
    choice.secretAgainst,
    (e) => setError(errorText(e)),
  );
  const same =
    derived !== null &&
    derived.data === vault.data &&
    derived.total === vault.total &&
    derived.threshold === vault.threshold;
  const ready = derived !== null && derived.problem === null && (!same || resume) && !busy;

  useEffect(
    () =>
      client.onProgress((event) => {
        if (event.op === 'policy') setProgress({ done: event.done, total: event.total });
      }),
    [client],
  );

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!ready) return;
    setBusy(true);
    setError(null);
    started.current = performance.now();
    try {
      onDone(await client.api.changePolicy(choice));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const elapsed = (performance.now() - started.current) / 1000;
  const left =
    progress && progress.done > 0 ? ((progress.total - progress.done) * elapsed) / Math.max(1, progress.done) : null;
  return (
    <Modal title="Change safety" onClose={busy ? () => undefined : onClose} wide>
      <form onSubmit={(e) => void submit(e)} noValidate aria-label="Change safety">
        <p className="muted">
          Over the {plural(locations.length, 'location')} the vault has now (add locations first to spread wider). The
          key shares are dealt again; if more locations are needed to unlock, the vault key is replaced too, so shares
          kept from before open nothing. Then every file is re-coded, one at a time: each keeps its old shards until its
          new ones are stored, so closing the app or losing a location never loses a file, and the work resumes here or
          on another device.
          {locations.some((l) => l.domain !== null)
            ? ' Some locations share a failure domain: "survive losing" and "secret even if" count domains, and shards are placed over them.'
            : ''}
        </p>
        {error ? <ErrorNote onDismiss={() => setError(null)}>{error}</ErrorNote> : null}
        <SafetyChoice
          locations={locations.length}
          over={derived ?? { data: 0, total: locations.length, threshold: choice.secretAgainst + 1, problem: null }}
          survive={choice.survive}
          secretAgainst={choice.secretAgainst}
          onChange={setChoice}
        />
        {derived?.problem ? <p className="field-error">{sentence(derived.problem)}.</p> : null}
        {derived?.domainWarnings.map((w) => (
          <Note tone="warn" key={w}>
            <span data-testid="domain-warning">Failure domains: {w}.</span>
          </Note>
        ))}
        {busy && progress ? (
          <div aria-live="polite">
            <ProgressBar value={progress.done} max={progress.total} label="Re-coding" />
            <p className="muted small">
              Re-coded {formatBytes(progress.done)} of {formatBytes(progress.total)}
              {left === null ? '' : `, about ${formatDuration(left)} left`}
            </p>
          </div>
        ) : null}
        <div className="setting">
          <button type="submit" className="primary" disabled={!ready}>
            {busy ? 'Re-coding…' : same && resume ? 'Resume re-coding' : 'Change safety'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
