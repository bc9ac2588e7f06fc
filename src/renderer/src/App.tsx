import { useCallback, useEffect, useRef, useState } from 'react';
import type { FileEntry, RecoveryKit as Kit, StatusReport } from '../../shared/api';
import type { Client } from './bridge/client';
import { vaultHealth } from './health';
import { Access } from './screens/Access';
import { Dashboard } from './screens/Dashboard';
import { Files } from './screens/Files';
import { FirstRun, Logo, RecoveryKit } from './screens/FirstRun';
import { Locations } from './screens/Locations';
import { Settings } from './screens/Settings';
import { Unlock } from './screens/Unlock';
import { type ThemeChoice, effectiveTheme, useTheme } from './theme';
import { ErrorNote, Spinner, errorText } from './ui/ui';

type Phase =
  | { readonly kind: 'loading' }
  | { readonly kind: 'unreachable'; readonly message: string }
  | { readonly kind: 'first-run' }
  | { readonly kind: 'kit'; readonly kit: Kit }
  | { readonly kind: 'locked'; readonly status: StatusReport }
  | { readonly kind: 'ready'; readonly status: StatusReport };

type View = 'dashboard' | 'files' | 'locations' | 'access' | 'settings';
const VIEWS: ReadonlyArray<{ id: View; label: string }> = [
  { id: 'dashboard', label: 'Dashboard' },
  { id: 'files', label: 'Files' },
  { id: 'locations', label: 'Locations' },
  { id: 'access', label: 'Access requests' },
  { id: 'settings', label: 'Settings' },
];

export function App({ client }: { client: Client }) {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [theme, setTheme] = useTheme();

  const load = useCallback(async () => {
    try {
      const status = await client.api.status();
      if (status === null) setPhase({ kind: 'first-run' });
      else if (status.locked) setPhase({ kind: 'locked', status });
      else {
        // A vault just created here: its recovery kit until the user has written it down.
        const kit = await client.api.recoveryKit();
        setPhase(kit ? { kind: 'kit', kit } : { kind: 'ready', status });
      }
    } catch (e) {
      setPhase({ kind: 'unreachable', message: errorText(e) });
    }
  }, [client]);

  useEffect(() => {
    void load();
    // Locking wipes keys in the engine; the page drops everything it showed by reloading.
    return client.onLocked(() => window.location.reload());
  }, [client, load]);

  switch (phase.kind) {
    case 'loading':
      return (
        <main className="onboarding narrow" id="main">
          <Spinner label="Opening Shardvault…" />
        </main>
      );
    case 'unreachable':
      return (
        <main className="onboarding narrow" id="main">
          <Logo />
          <h1>Shardvault cannot start</h1>
          <ErrorNote>{phase.message}</ErrorNote>
          <button type="button" onClick={() => void load()}>
            Try again
          </button>
        </main>
      );
    case 'first-run':
      return <FirstRun client={client} onDone={() => void load()} />;
    case 'kit':
      return <RecoveryKit client={client} kit={phase.kit} onDone={() => void load()} />;
    case 'locked':
      return <Unlock client={client} status={phase.status} onUnlocked={() => void load()} />;
    case 'ready':
      return (
        <Shell client={client} initial={phase.status} theme={theme} onTheme={setTheme} onLocked={() => void load()} />
      );
  }
}

function Shell({
  client,
  initial,
  theme,
  onTheme,
  onLocked,
}: {
  client: Client;
  initial: StatusReport;
  theme: ThemeChoice;
  onTheme: (choice: ThemeChoice) => void;
  onLocked: () => void;
}) {
  const [view, setView] = useState<View>('dashboard');
  const [status, setStatus] = useState(initial);
  const [files, setFiles] = useState<FileEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const mainRef = useRef<HTMLElement>(null);

  const refresh = useCallback(async () => {
    try {
      const next = await client.api.status();
      if (next === null || next.locked) {
        onLocked();
        return;
      }
      setStatus(next);
      setFiles(await client.api.listFiles());
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  }, [client, onLocked]);

  useEffect(() => {
    void refresh();
  }, [refresh]);
  // While shard copies staged for a location that is back wait to move, the engine is moving
  // them in the background (src/core/app.ts): look again soon, so the file is seen completed
  // within seconds instead of at the next ten-second round.
  const moving = status.locations.some((l) => l.reachable && l.staged > 0);
  useEffect(() => {
    const timer = setInterval(
      () => {
        if (document.visibilityState === 'visible') void refresh();
      },
      moving ? 2_000 : 10_000,
    );
    return () => clearInterval(timer);
  }, [refresh, moving]);

  const lock = async (): Promise<void> => {
    try {
      await client.api.lock();
    } finally {
      onLocked();
    }
  };

  const go = (next: View): void => {
    setView(next);
    // Move focus to the new page for keyboard and screen-reader users.
    requestAnimationFrame(() => mainRef.current?.focus());
  };
  const health = vaultHealth(status, files);
  const offline = status.locations.filter((l) => !l.reachable).length;
  const shown = effectiveTheme(theme);

  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Shardvault">
        <div className="brand">
          <Logo />
          <span>Shardvault</span>
        </div>
        <ul>
          {VIEWS.map((v) => (
            <li key={v.id}>
              <button
                type="button"
                className="nav-item"
                aria-current={view === v.id ? 'page' : undefined}
                onClick={() => go(v.id)}
              >
                {v.label}
                {v.id === 'dashboard' && health.level !== 'healthy' ? (
                  <span className={`nav-dot dot-${health.level}`} title={health.title} />
                ) : null}
                {v.id === 'locations' && offline > 0 ? (
                  <span className="nav-dot dot-degraded" title={`${offline} offline`} />
                ) : null}
              </button>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <button
            type="button"
            className="ghost small"
            aria-label={`Switch to ${shown === 'dark' ? 'light' : 'dark'} theme`}
            onClick={() => onTheme(shown === 'dark' ? 'light' : 'dark')}
          >
            {shown === 'dark' ? '☀ Light' : '☾ Dark'}
          </button>
          <button type="button" className="small" onClick={() => void lock()}>
            Lock
          </button>
          <p className="muted small mode">{client.desktop ? 'Desktop' : `Web · ${window.location.host}`}</p>
        </div>
      </nav>
      <main className="content" id="main" tabIndex={-1} ref={mainRef}>
        {error ? <ErrorNote onDismiss={() => setError(null)}>{error}</ErrorNote> : null}
        {view === 'dashboard' ? (
          <Dashboard
            client={client}
            status={status}
            files={files}
            onRefresh={() => void refresh()}
            onManageLocations={() => go('locations')}
          />
        ) : null}
        {view === 'files' ? (
          <Files client={client} status={status} files={files} onChanged={() => void refresh()} />
        ) : null}
        {view === 'locations' ? <Locations client={client} status={status} onChanged={() => void refresh()} /> : null}
        {view === 'access' ? <Access client={client} status={status} /> : null}
        {view === 'settings' ? (
          <Settings
            client={client}
            status={status}
            theme={theme}
            onTheme={onTheme}
            onLock={() => void lock()}
            onNewKit={onLocked}
            onChanged={() => void refresh()}
          />
        ) : null}
      </main>
    </div>
  );
}
