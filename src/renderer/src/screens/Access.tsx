// Access requests: pending openings of guarded files, live, with Approve and Deny for a
// guardian (docs/GUARD.md); then every request as the audit log on the locations records it
// (not a UI-side list).
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { AccessAction, AccessOutcome, AccessRequest, GuardRequest, StatusReport } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { andList, UNANCHORED } from '../../../shared/words';
import { formatTime, plural } from '../format';
import { Badge, EmptyState, ErrorNote, Note, Spinner, errorText } from '../ui/ui';
import { GuardPanel } from './GuardPanel';

/** How often the pending requests are read again while the screen is open. */
const PENDING_EVERY_MS = 2000;

const ACTION_WORD: Record<AccessAction, string> = {
  init: 'Create vault',
  open: 'Open vault',
  unlock: 'Unlock',
  put: 'Store',
  get: 'Export',
  rm: 'Delete',
  mv: 'Rename or move',
  repair: 'Repair',
  policy: 'Policy change',
  location: 'Location change',
  drill: 'Recovery drill',
  passphrase: 'Passphrase change',
  guard: 'Guard change',
};
const OUTCOME_TONE: Record<AccessOutcome, 'ok' | 'warn' | 'danger'> = { ok: 'ok', denied: 'warn', failed: 'danger' };
const OUTCOME_WORD: Record<AccessOutcome, string> = { ok: 'Allowed', denied: 'Denied', failed: 'Failed' };

export function Access({ client, status }: { client: Client; status: StatusReport }) {
  const [entries, setEntries] = useState<AccessRequest[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [action, setAction] = useState<AccessAction | 'all'>('all');
  const [outcome, setOutcome] = useState<AccessOutcome | 'all'>('all');
  const [query, setQuery] = useState('');

  const load = useCallback(() => {
    setError(null);
    client.api.accessLog().then(
      (list) => setEntries([...list].sort((a, b) => b.time.localeCompare(a.time))),
      (e: unknown) => setError(errorText(e)),
    );
  }, [client]);
  useEffect(load, [load]);

  const visible = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (entries ?? []).filter(
      (e) =>
        (action === 'all' || e.action === action) &&
        (outcome === 'all' || e.outcome === outcome) &&
        (q === '' ||
          [e.device, e.file ?? '', e.detail ?? '', ...e.locations].some((text) => text.toLowerCase().includes(q))),
    );
  }, [entries, action, outcome, query]);

  return (
    <>
      <header className="page-head">
        <div>
          <h1>Access requests</h1>
          <p className="muted">
            Openings of guarded files that wait for a guardian, and every unlock, store, export, deletion, repair and
            change, from the tamper-evident log kept on the locations.
          </p>
        </div>
        <button type="button" onClick={load}>
          Refresh
        </button>
      </header>
      {status.guard ? (
        <>
          <PendingRequests client={client} status={status} />
          <h2 className="section-title">Audit log</h2>
        </>
      ) : null}
      <div className="filters" role="group" aria-label="Filter">
        <label>
          Action{' '}
          <select value={action} onChange={(e) => setAction(e.target.value as AccessAction | 'all')}>
            <option value="all">All</option>
            {(Object.keys(ACTION_WORD) as AccessAction[]).map((a) => (
              <option key={a} value={a}>
                {ACTION_WORD[a]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Outcome{' '}
          <select value={outcome} onChange={(e) => setOutcome(e.target.value as AccessOutcome | 'all')}>
            <option value="all">All</option>
            {(Object.keys(OUTCOME_WORD) as AccessOutcome[]).map((o) => (
              <option key={o} value={o}>
                {OUTCOME_WORD[o]}
              </option>
            ))}
          </select>
        </label>
        <input
          type="search"
          className="search"
          placeholder="Device, file or location"
          aria-label="Search device, file or location"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        {entries ? <span className="muted small">{plural(visible.length, 'request')}</span> : null}
      </div>
      {error ? <ErrorNote>{error}</ErrorNote> : null}
      {entries === null && !error ? <Spinner label="Reading the audit log…" /> : null}
      {entries && entries.length === 0 ? <EmptyState title="No access requests yet" /> : null}
      {entries && entries.length > 0 && visible.length === 0 ? (
        <EmptyState title="Nothing matches these filters" />
      ) : null}
      {visible.length > 0 ? (
        <table className="table access-table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Device</th>
              <th scope="col">Action</th>
              <th scope="col">File or change</th>
              <th scope="col">Outcome</th>
              <th scope="col">Locations</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((e, i) => (
              <tr key={`${e.time}-${i}`} data-testid="access-row" data-action={e.action} data-outcome={e.outcome}>
                <td>
                  <time dateTime={e.time}>{formatTime(e.time, true)}</time>
                  {e.anchored ? null : (
                    <span className="unanchored" title={`${capitalized(UNANCHORED.word)}: ${UNANCHORED.explanation}`}>
                      {' '}
                      · {UNANCHORED.word}
                    </span>
                  )}
                </td>
                <td>{e.device}</td>
                <td>{ACTION_WORD[e.action]}</td>
                <td className="file-name">{e.file ?? e.detail ?? <span className="muted">—</span>}</td>
                <td>
                  <Badge tone={OUTCOME_TONE[e.outcome]}>{OUTCOME_WORD[e.outcome]}</Badge>
                </td>
                <td className="small">{e.locations.length > 0 ? e.locations.join(', ') : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

/**
 * Openings of guarded files that wait for guardian approvals, read again every 2 s: a
 * guardian's device approves or denies each (its signature, checked by the nodes); the
 * requesting device sees how many it has.
 */
function PendingRequests({ client, status }: { client: Client; status: StatusReport }) {
  const [pending, setPending] = useState<GuardRequest[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [told, setTold] = useState<string | null>(null);
  const guard = status.guard!;

  const load = useCallback(
    () =>
      client.api.guardRequests().then(
        (list) => {
          setPending([...list].sort((a, b) => b.time.localeCompare(a.time)));
          setError(null);
        },
        (e: unknown) => setError(errorText(e)),
      ),
    [client],
  );
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), PENDING_EVERY_MS);
    return () => clearInterval(timer);
  }, [load]);

  const answer = async (r: GuardRequest, approve: boolean): Promise<void> => {
    setBusy(r.id);
    setError(null);
    try {
      const now = await client.api.answerGuardRequest({ id: r.id, approve });
      setTold(
        approve
          ? `Approved ${r.device}'s request: ${r.file} (${now.approvals} of ${now.needed} approvals; good for 14 minutes).`
          : `Denied ${r.device}'s request: ${r.file}.`,
      );
      await load();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(null);
    }
  };

  const open = (pending ?? []).filter((r) => !r.denied && r.approvals < r.needed);
  return (
    <>
      <GuardPanel client={client} status={status} requests={pending ?? []} />
      <section className="pending-requests" aria-label="Pending requests">
        <h2 className="section-title">Pending requests</h2>
        <p className="muted small">
          {guard.approvals === 0
            ? 'Guarded files open without approvals: any enrolled device may ask the nodes.'
            : `Each opening of a guarded file needs ${plural(guard.approvals, 'guardian approval')} of ${plural(guard.guardians, 'guardian')}; a device cannot approve its own.`}{' '}
          {guard.guardian ? 'This device is a guardian.' : 'This device is not a guardian: it can ask, not approve.'}
        </p>
        {told ? <Note tone="ok">{told}</Note> : null}
        {error ? <ErrorNote onDismiss={() => setError(null)}>{error}</ErrorNote> : null}
        {pending === null && !error ? <Spinner label="Reading pending requests…" /> : null}
        {pending !== null && pending.length === 0 ? (
          <p className="muted" data-testid="no-pending">
            No opening waits for approval.
          </p>
        ) : null}
        {pending !== null && pending.length > 0 ? (
          <table className="table access-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Device</th>
                <th scope="col">File</th>
                <th scope="col">Nodes asked</th>
                <th scope="col">Approvals</th>
                <th scope="col">
                  <span className="sr-only">Answer</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pending.map((r) => (
                <tr key={r.id} data-testid="pending-request" data-request={r.id} data-state={stateOf(r)}>
                  <td>
                    <time dateTime={r.time}>{formatTime(r.time, true)}</time>
                  </td>
                  <td>
                    {r.device}
                    {r.mine ? <span className="muted small"> (this device)</span> : null}
                  </td>
                  <td className="file-name">{r.file}</td>
                  <td className="small">{andList(r.nodes)}</td>
                  <td>
                    {r.denied ? (
                      <Badge tone="danger">Denied</Badge>
                    ) : r.approvals >= r.needed ? (
                      <Badge tone="ok">Approved</Badge>
                    ) : (
                      <Badge tone="warn">
                        {r.approvals} of {r.needed} {r.needed === 1 ? 'approval' : 'approvals'}
                      </Badge>
                    )}
                  </td>
                  <td className="row-actions">
                    {guard.guardian && !r.mine && open.includes(r) ? (
                      <>
                        <button
                          type="button"
                          className="small primary"
                          disabled={busy !== null}
                          onClick={() => void answer(r, true)}
                          aria-label={`Approve ${r.device}'s opening of ${r.file}`}
                        >
                          Approve
                        </button>
                        <button
                          type="button"
                          className="small danger"
                          disabled={busy !== null}
                          onClick={() => void answer(r, false)}
                          aria-label={`Deny ${r.device}'s opening of ${r.file}`}
                        >
                          Deny
                        </button>
                      </>
                    ) : r.mine && open.includes(r) ? (
                      <span className="muted small">waiting for a guardian</span>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
    </>
  );
}

function stateOf(r: GuardRequest): 'denied' | 'approved' | 'waiting' {
  return r.denied ? 'denied' : r.approvals >= r.needed ? 'approved' : 'waiting';
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
