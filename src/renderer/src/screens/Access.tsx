// Access requests, as the audit log on the locations records them (not a UI-side list).
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { AccessAction, AccessOutcome, AccessRequest } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { UNANCHORED } from '../../../shared/words';
import { formatTime, plural } from '../format';
import { Badge, EmptyState, ErrorNote, Spinner, errorText } from '../ui/ui';

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
};
const OUTCOME_TONE: Record<AccessOutcome, 'ok' | 'warn' | 'danger'> = { ok: 'ok', denied: 'warn', failed: 'danger' };
const OUTCOME_WORD: Record<AccessOutcome, string> = { ok: 'Allowed', denied: 'Denied', failed: 'Failed' };

export function Access({ client }: { client: Client }) {
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
            Every unlock, store, export, deletion, repair and change, from the tamper-evident log kept on the locations.
          </p>
        </div>
        <button type="button" onClick={load}>
          Refresh
        </button>
      </header>
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

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
