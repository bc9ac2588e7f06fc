import { useState } from 'react';
import type { FileEntry, RepairReport, StatusReport, VerifyReport } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { formatBytes, formatCost, plural } from '../format';
import { vaultHealth } from '../health';
import { LocationTile } from '../ui/LocationTile';
import { guardWords } from '../../../shared/words';
import { ErrorNote, Note, Spinner, errorText } from '../ui/ui';

type Work = 'check' | 'deep-check' | 'repair' | 'deep-repair';

const WORKING: Record<Work, string> = {
  check: 'Checking shards on every location…',
  'deep-check': 'Reading and hashing every shard on every location…',
  repair: 'Repairing: rebuilding missing shard copies, rewriting manifests, dealing key shares where needed…',
  'deep-repair': 'Repairing: reading every shard, rebuilding missing or damaged copies…',
};

export function Dashboard({
  client,
  status,
  files,
  onRefresh,
  onManageLocations,
}: {
  client: Client;
  status: StatusReport;
  files: readonly FileEntry[] | null;
  onRefresh: () => void;
  onManageLocations: () => void;
}) {
  const health = vaultHealth(status, files);
  const [working, setWorking] = useState<Work | null>(null);
  const [report, setReport] = useState<VerifyReport | null>(null);
  const [repaired, setRepaired] = useState<RepairReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const stored = files?.reduce((sum, f) => sum + f.size, 0) ?? 0;
  const { vault } = status;
  const guard = status.guard ? guardWords(status.guard) : null;

  const check = async (deep: boolean): Promise<void> => {
    setWorking(deep ? 'deep-check' : 'check');
    setError(null);
    setRepaired(null);
    try {
      setReport(await client.api.verify({ deep }));
      onRefresh();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setWorking(null);
    }
  };

  const repair = async (deep: boolean): Promise<void> => {
    setWorking(deep ? 'deep-repair' : 'repair');
    setError(null);
    setReport(null);
    try {
      setRepaired(await client.api.repair({ deep }));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setWorking(null);
      onRefresh();
    }
  };

  return (
    <>
      <header className="page-head">
        <div>
          <h1>Dashboard</h1>
          <p className="muted">
            Vault <code>{vault.id}</code>
          </p>
        </div>
        <div className="row">
          <button type="button" onClick={onRefresh}>
            Refresh
          </button>
          <button type="button" onClick={() => void check(false)} disabled={working !== null}>
            Check shards
          </button>
          <button
            type="button"
            onClick={() => void check(true)}
            disabled={working !== null}
            title="Reads and hashes every shard"
          >
            Deep check
          </button>
          <button
            type="button"
            onClick={() => void repair(false)}
            disabled={working !== null}
            title="Rebuilds missing shard copies from the others, rewrites lost manifests, deals key shares again where one is missing"
          >
            Repair
          </button>
        </div>
      </header>

      {status.policyJob ? (
        <Note tone="warn">
          Changing safety to {status.policyJob.data} of {status.policyJob.total} shards: {status.policyJob.filesDone} of{' '}
          {plural(status.policyJob.files, 'file')} re-coded ({formatBytes(status.policyJob.bytesDone)} of{' '}
          {formatBytes(status.policyJob.bytes)}). Files not re-coded yet keep their old coding; Settings → Safety
          resumes it.
        </Note>
      ) : null}
      <section className={`health health-${health.level}`} aria-label="Vault health" data-testid="vault-health">
        <div className="health-mark" aria-hidden="true" />
        <div>
          <h2>{health.title}</h2>
          <p>{health.detail}</p>
        </div>
        <dl className="stats">
          <div>
            <dt>Files</dt>
            <dd>{files ? files.length : '—'}</dd>
          </div>
          <div>
            <dt>Stored</dt>
            <dd>{formatBytes(stored)}</dd>
          </div>
          <div>
            <dt>Policy</dt>
            <dd title="n shards per file, k needed to read, t locations to unlock">
              {vault.data} of {vault.total}, unlock {vault.threshold}
            </dd>
          </div>
          <div>
            <dt>Cost</dt>
            <dd>{formatCost(vault.total * vault.replicas, vault.data)}</dd>
          </div>
          {status.guard ? (
            <div data-testid="guard-stat">
              <dt>Guard</dt>
              <dd title="Guarded files open only when this many of the vault's nodes agree">
                {status.guard.threshold} of {status.guard.nodes} nodes
                {status.guard.approvals > 0 ? `, ${plural(status.guard.approvals, 'approval')}` : ''}
              </dd>
            </div>
          ) : null}
        </dl>
      </section>
      {guard && !guard.opens ? (
        <Note tone="warn">
          <span data-testid="guard-warning">Guarded files cannot be opened on this device now: {guard.words}.</span>
        </Note>
      ) : null}

      {status.domainWarnings.map((w) => (
        <Note tone="warn" key={w}>
          <span data-testid="domain-warning">Failure domains: {w}.</span>
        </Note>
      ))}
      {working ? <Spinner label={WORKING[working]} /> : null}
      {error ? <ErrorNote onDismiss={() => setError(null)}>{error}</ErrorNote> : null}
      {report ? (
        <VerifySummary
          report={report}
          busy={working !== null}
          onRepair={(deep) => void repair(deep)}
          onDismiss={() => setReport(null)}
        />
      ) : null}
      {repaired ? <RepairSummary report={repaired} onDismiss={() => setRepaired(null)} /> : null}

      <div className="section-head">
        <h2 className="section-title">Locations</h2>
        <button type="button" className="ghost small" onClick={onManageLocations}>
          Manage locations…
        </button>
      </div>
      <ul className="tiles" aria-label="Locations">
        {status.locations.map((location) => (
          <LocationTile key={location.name} location={location} />
        ))}
      </ul>
    </>
  );
}

function VerifySummary({
  report,
  busy,
  onRepair,
  onDismiss,
}: {
  report: VerifyReport;
  busy: boolean;
  onRepair: (deep: boolean) => void;
  onDismiss: () => void;
}) {
  if (report.ok) {
    return (
      <Note tone="ok">
        Every shard of {plural(report.files.length, 'file')} checked out.{' '}
        <button type="button" className="ghost small" onClick={onDismiss}>
          Dismiss
        </button>
      </Note>
    );
  }
  // A damaged copy is found only by reading it: repair reads every shard then too.
  const deep = report.problems.some((p) => p.kind === 'corrupt');
  const repairable = report.problems.some((p) => p.kind !== 'offline');
  return (
    <div className="note note-warn" role="status">
      <div className="note-body">
        <strong>{plural(report.problems.length, 'problem')} found</strong>
        <ul className="problems">
          {report.problems.slice(0, 20).map((p, i) => (
            <li key={i}>
              {p.file}
              {p.shard === null ? '' : `, shard ${p.shard}`} on {p.location}: {p.kind}
            </li>
          ))}
        </ul>
      </div>
      <div className="note-actions">
        {repairable ? (
          <button type="button" className="small" onClick={() => onRepair(deep)} disabled={busy}>
            Repair now
          </button>
        ) : null}
        <button type="button" className="ghost small" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
    </div>
  );
}

const KEY_SHARES: Record<RepairReport['keyShares'], string> = {
  current: 'Every location holds its current key share.',
  redealt: 'Key shares were dealt again to every location.',
  partial:
    'Key shares were dealt again to the locations reachable now; the others get theirs at the next repair once they are back.',
};

const HEALTH_WORD = {
  healthy: 'healthy',
  degraded: 'degraded',
  unreachable: 'out of reach',
  lost: 'unreadable',
} as const;

export function RepairSummary({ report, onDismiss }: { report: RepairReport; onDismiss: () => void }) {
  const rebuiltFiles = report.files.filter((f) => f.rebuilt > 0);
  const rebuilt = rebuiltFiles.reduce((n, f) => n + f.rebuilt, 0);
  const nothing =
    rebuilt === 0 &&
    report.moved === 0 &&
    report.keyShares === 'current' &&
    report.manifestsWritten === 0 &&
    report.collected === 0 &&
    report.pending.length === 0;
  return (
    <section
      className={`note ${report.ok ? 'note-ok' : 'note-warn'} repair-report`}
      role="status"
      aria-label="Repair report"
      data-testid="repair-report"
    >
      <div className="note-body">
        <strong>{report.ok ? 'Repair finished' : 'Repair finished, with work left'}</strong>
        {nothing ? (
          <p>Nothing needed repair: every file has all its shards, none known damaged, every location its key share.</p>
        ) : (
          <ul className="repair-lines">
            <li data-testid="repair-rebuilt">
              {rebuilt === 0
                ? 'No shard copy needed rebuilding.'
                : `Rebuilt ${plural(rebuilt, 'shard copy', 'shard copies')} of ${plural(rebuiltFiles.length, 'file')}.`}
              {rebuiltFiles.length > 0 ? (
                <ul>
                  {rebuiltFiles.map((f) => (
                    <li key={f.name}>
                      <strong>{f.name}</strong>: {plural(f.rebuilt, 'copy', 'copies')} rebuilt, {HEALTH_WORD[f.before]}{' '}
                      → {HEALTH_WORD[f.after]}
                      {f.after === 'lost'
                        ? ''
                        : f.survives > 0
                          ? `, survives ${plural(f.survives, 'more loss', 'more losses')}`
                          : ', survives no more losses'}
                    </li>
                  ))}
                </ul>
              ) : null}
            </li>
            {report.moved > 0 ? (
              <li data-testid="repair-moved">
                {plural(report.moved, 'shard copy', 'shard copies')} stored while {report.moved === 1 ? 'its' : 'their'}{' '}
                location was away moved to it.
              </li>
            ) : null}
            <li>{KEY_SHARES[report.keyShares]}</li>
            <li>
              {report.manifestsWritten === 0
                ? 'Every manifest copy was in place.'
                : `${plural(report.manifestsWritten, 'manifest copy', 'manifest copies')} written again.`}
            </li>
            <li>
              {report.collected === 0
                ? 'No leftovers to collect.'
                : `${plural(report.collected, 'leftover object')} collected (from interrupted or replaced writes).`}
            </li>
          </ul>
        )}
        {report.pending.length > 0 ? (
          <>
            <p className="pending-title">Still to do:</p>
            <ul className="problems" data-testid="repair-pending">
              {report.pending.map((p, i) => (
                <li key={i}>{p}</li>
              ))}
            </ul>
          </>
        ) : null}
      </div>
      <button type="button" className="ghost small" onClick={onDismiss}>
        Dismiss
      </button>
    </section>
  );
}
