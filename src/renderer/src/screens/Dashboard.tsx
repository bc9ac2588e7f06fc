import { useState } from 'react';
import type { FileEntry, LocationStatus, StatusReport, VerifyReport } from '../../../shared/api';
import type { Client } from '../bridge/client';
import { formatBytes, formatCost, formatRelative, plural } from '../format';
import { vaultHealth } from '../health';
import { Badge, ErrorNote, Note, Spinner, errorText } from '../ui/ui';

export function Dashboard({
  client,
  status,
  files,
  onRefresh,
}: {
  client: Client;
  status: StatusReport;
  files: readonly FileEntry[] | null;
  onRefresh: () => void;
}) {
  const health = vaultHealth(status, files);
  const [checking, setChecking] = useState(false);
  const [report, setReport] = useState<VerifyReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const stored = files?.reduce((sum, f) => sum + f.size, 0) ?? 0;
  const { vault } = status;

  const check = async (deep: boolean): Promise<void> => {
    setChecking(true);
    setError(null);
    try {
      setReport(await client.api.verify({ deep }));
      onRefresh();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setChecking(false);
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
          <button type="button" onClick={() => void check(false)} disabled={checking}>
            Check shards
          </button>
          <button
            type="button"
            onClick={() => void check(true)}
            disabled={checking}
            title="Reads and hashes every shard"
          >
            Deep check
          </button>
        </div>
      </header>

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
        </dl>
      </section>

      {checking ? <Spinner label="Checking shards on every location…" /> : null}
      {error ? <ErrorNote onDismiss={() => setError(null)}>{error}</ErrorNote> : null}
      {report ? <VerifySummary report={report} onDismiss={() => setReport(null)} /> : null}

      <h2 className="section-title">Locations</h2>
      <ul className="tiles" aria-label="Locations">
        {status.locations.map((location) => (
          <LocationTile key={location.name} location={location} />
        ))}
      </ul>
    </>
  );
}

function LocationTile({ location }: { location: LocationStatus }) {
  return (
    <li className={`tile ${location.reachable ? 'online' : 'offline'}`} data-testid={`location-${location.name}`}>
      <div className="tile-head">
        <span className={`dot ${location.reachable ? 'dot-ok' : 'dot-off'}`} aria-hidden="true" />
        <h3>{location.name}</h3>
        <Badge tone={location.reachable ? 'ok' : 'danger'}>{location.reachable ? 'Online' : 'Offline'}</Badge>
      </div>
      <p className="tile-where" title={location.display}>
        <span className="kind">
          {location.kind === 'local' ? 'Folder' : location.kind === 'sftp' ? 'SFTP' : 'WebDAV'}
        </span>{' '}
        {location.display}
      </p>
      <dl className="tile-facts">
        <div>
          <dt>Latency</dt>
          <dd>{location.latencyMs === null ? '—' : `${Math.round(location.latencyMs)} ms`}</dd>
        </div>
        <div>
          <dt>Free</dt>
          <dd>{formatBytes(location.freeBytes)}</dd>
        </div>
        <div>
          <dt>Shards</dt>
          <dd>{location.shards ?? '—'}</dd>
        </div>
        <div>
          <dt>Last seen</dt>
          <dd title={location.lastSeen ?? undefined}>{formatRelative(location.lastSeen)}</dd>
        </div>
      </dl>
      {location.error ? <p className="tile-error">{location.error}</p> : null}
    </li>
  );
}

function VerifySummary({ report, onDismiss }: { report: VerifyReport; onDismiss: () => void }) {
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
      <button type="button" className="ghost small" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
