import { type DragEvent, type ReactNode, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { FileEntry, FolderReport, Health, PlacementReport, StatusReport } from '../../../shared/api';
import { type Client, type NamedFile, type Transfer } from '../bridge/client';
import {
  fileBaseName,
  folderEntries,
  folderPrefix,
  FOLDER_SEPARATOR,
  isFolderMarker,
  isInFolder,
} from '../../../shared/file-name';
import { APPROVAL_REFUSED, guardWords, healthWords, survivesWords } from '../../../shared/words';
import { formatBytes, formatDuration, formatSpeed, formatTime, plural } from '../format';
import { Badge, EmptyState, ErrorNote, Modal, Note, ProgressBar, Spinner, errorText } from '../ui/ui';
import { DrivePanel } from './Drive';

const HEALTH_TONE: Record<Health, 'ok' | 'warn' | 'danger'> = {
  healthy: 'ok',
  degraded: 'warn',
  unreachable: 'warn',
  lost: 'danger',
};

/** "Healthy", "Lost", "Needs sign-in for nas", "Needs enrolment with n1", "Unreachable until usb returns". */
function healthLabel(file: FileEntry, status: StatusReport): string {
  const nodes = new Set(status.locations.filter((l) => l.kind === 'node').map((l) => l.name));
  const words = healthWords(file, nodes);
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A guarded file's badge: what opening it needs on this device (StatusReport.guard). */
function GuardedBadge({ status }: { status: StatusReport }) {
  if (status.guard === null) return <Badge tone="warn">Guarded</Badge>;
  const { words, opens, enrol } = guardWords(status.guard);
  return (
    <span title={`Guarded: ${words}`} data-testid="guarded-badge">
      <Badge tone={opens ? 'ok' : 'warn'}>{enrol ? 'Guarded · needs enrolment' : 'Guarded'}</Badge>
    </span>
  );
}

/**
 * The "Guarded" choice for new files, once guard setup ran: what it means, in words.
 */
function GuardedChoice({
  status,
  value,
  onChange,
}: {
  status: StatusReport;
  value: boolean;
  onChange: (value: boolean) => void;
}) {
  const guard = status.guard;
  if (guard === null) return null;
  const approvals =
    guard.approvals === 0
      ? 'any of your enrolled devices may ask'
      : `each opening also needs ${guard.approvals} guardian ${guard.approvals === 1 ? 'approval' : 'approvals'}`;
  const meaning =
    `Opening a guarded file also needs ${guard.threshold} of the vault's ${guard.nodes} nodes to agree (${approvals}); ` +
    `the passphrase and every location together cannot open it without them.`;
  return (
    <span className="sensitivity guarded-choice" title={meaning}>
      <label>
        <input
          type="checkbox"
          checked={value}
          onChange={(e) => onChange(e.target.checked)}
          aria-describedby="guarded-meaning"
        />{' '}
        Guarded
      </label>
      <span id="guarded-meaning" className="sr-only">
        {meaning}
      </span>
    </span>
  );
}

/**
 * What a new file may ask for: the vault's own "survive X", or more, down to one data shard
 * (a whole copy per location). Only for one copy per shard, where X = n − k.
 */
export function sensitivityLevels(status: StatusReport): Choice[] {
  const { data: k, total: n, replicas } = status.vault;
  if (replicas !== 1) return [];
  const base = n - k;
  return Array.from({ length: k }, (_, extra) => {
    const survive = base + extra;
    const cost = `${(n / (k - extra)).toFixed(2).replace(/\.?0+$/, '')}× storage`;
    const what = extra === 0 ? 'as the vault' : extra === k - 1 ? 'critical: a whole copy on each' : 'more sensitive';
    return { value: survive, isDefault: extra === 0, label: `Survive losing ${survive} (${what}, ${cost})` };
  });
}

/** One option of a choice for new files: the default is sent as nothing (the engine's own). */
interface Choice {
  readonly value: number;
  readonly isDefault: boolean;
  readonly label: string;
}

function NewFilesChoice({
  label,
  choices,
  value,
  onChange,
}: {
  label: string;
  choices: readonly Choice[];
  value: number | undefined;
  onChange: (value: number | undefined) => void;
}) {
  if (choices.length < 2) return null;
  return (
    <label className="sensitivity">
      <span className="sr-only">New files</span>
      <select
        aria-label={label}
        value={value ?? ''}
        onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
      >
        {choices.map((c) => (
          <option key={c.value} value={c.isDefault ? '' : c.value}>
            {c.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/**
 * How many locations a new file may need shards on: this device's default (k unless set
 * with `shardvault settings --happy`), or more, up to every location.
 */
export function happyChoices(status: StatusReport): Choice[] {
  const m = status.locations.length;
  return Array.from({ length: Math.max(0, m - status.happy + 1) }, (_, i) => {
    const happy = status.happy + i;
    const when = happy === m ? `all ${m} locations are present` : `${happy} of ${m} locations are present`;
    return { value: happy, isDefault: i === 0, label: `Store when ${when}${i === 0 ? ' (default)' : ''}` };
  });
}

/** What a store did, and what it costs while a location is away. */
function storedNotice(stored: readonly FileEntry[]): { text: string; warn: boolean } {
  const waiting = stored.filter((f) => f.awaiting.length > 0);
  const text = [
    `Stored ${stored.map((f) => f.name).join(', ')}.`,
    ...waiting.map(
      (f) =>
        `${f.name} ${survivesWords(f)}: its shards for ${f.awaiting.join(', ')} wait on the other locations and move there once ${f.signIn.length > 0 ? `you sign in to ${f.signIn.join(', ')} here` : 'back'}.`,
    ),
  ].join(' ');
  return { text, warn: waiting.length > 0 };
}

function folderNotice(f: FolderReport): { text: string; warn: boolean } {
  const what = [
    plural(f.files, 'file'),
    ...(f.folders > 0 ? [plural(f.folders, 'empty folder')] : []),
    formatBytes(f.bytes),
  ];
  const text = [
    `Stored ${f.name}/ (${what.join(', ')}) in one commit.`,
    ...(f.awaiting.length > 0
      ? [
          `Its shards for ${f.awaiting.join(', ')} wait on the other locations and move there once ${f.signIn.length > 0 ? `you sign in to ${f.signIn.join(', ')} here` : 'back'}.`,
        ]
      : []),
  ].join(' ');
  return { text, warn: f.awaiting.length > 0 };
}

export function Files({
  client,
  status,
  files,
  onChanged,
}: {
  client: Client;
  status: StatusReport;
  files: readonly FileEntry[] | null;
  onChanged: () => void;
}) {
  const [query, setQuery] = useState('');
  const [dragging, setDragging] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ text: string; warn: boolean } | null>(null);
  const [placementOf, setPlacementOf] = useState<FileEntry | null>(null);
  const [deleting, setDeleting] = useState<FileEntry | null>(null);
  const [deletingFolder, setDeletingFolder] = useState<string | null>(null);
  const [moving, setMoving] = useState<string | null>(null);
  // The folder shown ('' the vault's top), and the order of its files.
  const [folder, setFolder] = useState('');
  const [sort, setSort] = useState<SortKey>('name');
  const [driveOpen, setDriveOpen] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const dragDepth = useRef(0);
  // Sensitivity of new files (the seed's "dynamic sharding"): more losses survived for more
  // parity. undefined = the vault's own policy.
  const [survive, setSurvive] = useState<number | undefined>(undefined);
  const levels = sensitivityLevels(status);
  // How many locations must take a new file's shards (servers of happiness): this device's
  // default, or more. undefined = the default.
  const [happy, setHappy] = useState<number | undefined>(undefined);
  const happyLevels = happyChoices(status);
  // Guarded new files (docs/GUARD.md): offered once the vault's guard is set up.
  const [guarded, setGuarded] = useState(false);

  // A search looks through the whole tree; otherwise the folder shown: its folders, then its
  // files, in the order chosen.
  const view = useMemo(() => {
    const q = query.trim().toLowerCase();
    const list = (files ?? []).filter((f) => !isFolderMarker(f.name));
    if (q !== '') {
      return {
        folders: [],
        sizes: new Map<string, FolderSize>(),
        files: sortFiles(
          list.filter((f) => f.name.toLowerCase().includes(q)),
          sort,
        ),
      };
    }
    const entries = folderEntries(
      (files ?? []).map((f) => f.name),
      folder,
    );
    const here = new Set(entries.filter((e) => e.kind === 'file').map((e) => e.path));
    // Each folder shown: its bytes, files and newest file, in one pass over the vault's names.
    const sizes = new Map<string, FolderSize>();
    for (const f of files ?? []) {
      if (!f.name.startsWith(folder)) continue;
      const cut = f.name.indexOf(FOLDER_SEPARATOR, folder.length);
      if (cut < 0) continue;
      const path = f.name.slice(0, cut + 1);
      const size = sizes.get(path) ?? { bytes: 0, files: 0, newest: '' };
      sizes.set(path, {
        bytes: size.bytes + f.size,
        files: size.files + (isFolderMarker(f.name) ? 0 : 1),
        newest: f.created > size.newest ? f.created : size.newest,
      });
    }
    const empty: FolderSize = { bytes: 0, files: 0, newest: '' };
    return {
      sizes,
      // Folders first, in the order chosen too: by their bytes, or their newest file.
      folders: entries
        .filter((e) => e.kind === 'folder')
        .sort((a, b) => {
          const x = sizes.get(a.path) ?? empty;
          const y = sizes.get(b.path) ?? empty;
          const byName = a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
          if (sort === 'size') return y.bytes - x.bytes || byName;
          if (sort === 'added') return (x.newest < y.newest ? 1 : x.newest > y.newest ? -1 : 0) || byName;
          return byName;
        }),
      files: sortFiles(
        list.filter((f) => here.has(f.name)),
        sort,
      ),
    };
  }, [files, query, folder, sort]);
  // A folder that is gone (moved, deleted) shows its nearest parent still there.
  useEffect(() => {
    if (folder === '' || files === null) return;
    if (!files.some((f) => isInFolder(f.name, folder))) setFolder(parentOf(folder));
  }, [files, folder]);

  const store = async (work: () => Promise<FileEntry[]>): Promise<void> => {
    setError(null);
    setNotice(null);
    try {
      // A file that fails says so on its transfer row, once; here only what was stored (and
      // a failure of the dialog itself).
      const stored = await work();
      setNotice(storedNotice(stored));
    } catch (e) {
      setError(errorText(e));
    } finally {
      onChanged();
    }
  };
  const options = {
    ...(survive === undefined ? {} : { survive }),
    ...(happy === undefined ? {} : { happy }),
    ...(guarded && status.guard !== null ? { guarded: true } : {}),
  };
  const add = async (list: readonly File[]): Promise<void> => {
    if (list.length === 0) return;
    await store(() =>
      client.addNamedFiles(
        list.map((file) => ({ file, name: `${folder}${file.name}` })),
        options,
      ),
    );
  };
  // Folders picked or dropped, in the folder shown: each in one commit (files dropped beside
  // them are stored one by one). A guarded file is stored on its own (a folder's put does not
  // guard: `put DIR` refuses --guarded), so with Guarded on each file is its own store.
  const addTree = async (list: readonly NamedFile[]): Promise<void> => {
    if (list.length === 0) return;
    if (options.guarded) {
      await store(() =>
        client.addNamedFiles(
          list.map((f) => ({ file: f.file, name: `${folder}${f.name}` })),
          options,
        ),
      );
      return;
    }
    const loose = list.filter((f) => !f.name.includes(FOLDER_SEPARATOR));
    const trees = new Map<string, NamedFile[]>();
    for (const f of list) {
      const cut = f.name.indexOf(FOLDER_SEPARATOR);
      if (cut < 0) continue;
      const top = f.name.slice(0, cut);
      trees.set(top, [...(trees.get(top) ?? []), { file: f.file, name: f.name.slice(cut + 1) }]);
    }
    setError(null);
    setNotice(null);
    const stored: FolderReport[] = [];
    try {
      for (const [top, files] of trees) {
        const report = await client.addFolder(`${folder}${top}`, files, options);
        if (report) stored.push(report);
      }
      const single =
        loose.length > 0
          ? await client.addNamedFiles(
              loose.map((f) => ({ file: f.file, name: `${folder}${f.name}` })),
              options,
            )
          : [];
      const notices = [...stored.map(folderNotice), ...(single.length > 0 ? [storedNotice(single)] : [])];
      if (notices.length > 0)
        setNotice({ text: notices.map((n) => n.text).join(' '), warn: notices.some((n) => n.warn) });
    } catch (e) {
      setError(errorText(e));
    } finally {
      onChanged();
    }
  };
  // The desktop app picks files in its own open dialog: main stores only what the user picked
  // there or dropped on the window. The web UI uploads what its file input picked.
  const pick = (): void => {
    if (client.desktop) void store(() => client.pickAndAddFiles(options));
    else input.current?.click();
  };

  const onDrop = (event: DragEvent): void => {
    event.preventDefault();
    dragDepth.current = 0;
    setDragging(false);
    // Folders come as entries (the files list holds only the top names); files as files.
    const entries = Array.from(event.dataTransfer.items)
      .map((item) => item.webkitGetAsEntry?.())
      .filter((e): e is FileSystemEntry => e !== null && e !== undefined);
    if (entries.some((e) => e.isDirectory))
      void readDropped(entries).then(addTree, (e: unknown) => setError(errorText(e)));
    else void add(Array.from(event.dataTransfer.files));
  };

  const exportFile = async (file: FileEntry): Promise<void> => {
    setError(null);
    setNotice(null);
    try {
      const exported = await client.exportFile(file.name);
      if (exported?.kind === 'saved')
        setNotice({ text: `Exported ${file.name} to ${exported.path}, verified.`, warn: false });
      if (exported?.kind === 'downloaded') {
        setNotice({ text: `Exported ${file.name}, verified; your browser saves it with its downloads.`, warn: false });
      }
    } catch {
      // the transfer row says why
    } finally {
      onChanged();
    }
  };

  const openFile = async (file: FileEntry): Promise<void> => {
    setError(null);
    setNotice(null);
    try {
      const how = await client.openFile(file.name);
      setNotice({
        text:
          how === 'opened'
            ? `Opened ${file.name}, verified; its copy on this computer is wiped when the vault locks.`
            : `${file.name}, verified, is in your browser's downloads.`,
        warn: false,
      });
    } catch {
      // the transfer row says why
    } finally {
      onChanged();
    }
  };

  return (
    <div
      className={`files-page ${dragging ? 'dragging' : ''}`}
      onDragEnter={(e) => {
        if (!e.dataTransfer.types.includes('Files')) return;
        dragDepth.current++;
        setDragging(true);
      }}
      onDragOver={(e) => e.preventDefault()}
      onDragLeave={() => {
        dragDepth.current = Math.max(0, dragDepth.current - 1);
        if (dragDepth.current === 0) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <header className="page-head">
        <div>
          <h1>Files</h1>
          <p className="muted">
            {files
              ? `${plural(files.length, 'file')}, ${formatBytes(files.reduce((s, f) => s + f.size, 0))}`
              : 'Loading…'}
          </p>
        </div>
        <div className="row">
          <input
            type="search"
            className="search"
            placeholder="Search files"
            aria-label="Search files"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
          <NewFilesChoice label="New files survive losing" choices={levels} value={survive} onChange={setSurvive} />
          <NewFilesChoice label="Store new files when" choices={happyLevels} value={happy} onChange={setHappy} />
          <GuardedChoice status={status} value={guarded} onChange={setGuarded} />
          <label className="sort">
            <span className="sr-only">Sort files by</span>
            <select aria-label="Sort files by" value={sort} onChange={(e) => setSort(e.target.value as SortKey)}>
              <option value="name">Name</option>
              <option value="size">Size</option>
              <option value="added">Newest</option>
            </select>
          </label>
          <button type="button" onClick={() => setDriveOpen(true)}>
            Open as drive…
          </button>
          <button type="button" className="primary" onClick={pick}>
            Add files…
          </button>
          <button type="button" onClick={() => folderInput.current?.click()}>
            Add folder…
          </button>
          <input
            ref={folderInput}
            type="file"
            multiple
            hidden
            data-testid="folder-input"
            {...{ webkitdirectory: '' }}
            onChange={(e) => {
              const picked = Array.from(e.target.files ?? []).map((file) => ({
                file,
                name: file.webkitRelativePath || file.name,
              }));
              e.target.value = '';
              void addTree(picked);
            }}
          />
          <input
            ref={input}
            type="file"
            multiple
            hidden
            data-testid="file-input"
            onChange={(e) => {
              const picked = Array.from(e.target.files ?? []);
              e.target.value = '';
              void add(picked);
            }}
          />
        </div>
      </header>

      <Breadcrumbs folder={folder} onOpen={setFolder} searching={query.trim() !== ''} />
      <Transfers client={client} onChanged={onChanged} />
      {error ? <ErrorNote onDismiss={() => setError(null)}>{error}</ErrorNote> : null}
      {notice ? (
        <Note tone={notice.warn ? 'warn' : 'ok'}>
          <span data-testid="files-notice">{notice.text}</span>
        </Note>
      ) : null}

      {files === null ? (
        <Spinner label="Reading the vault…" />
      ) : files.length === 0 ? (
        <EmptyState
          title="No files yet"
          action={
            <button type="button" className="primary" onClick={pick}>
              Add files…
            </button>
          }
        >
          Drop files anywhere on this page, or pick them. Each is encrypted on this computer before any byte leaves it.
        </EmptyState>
      ) : view.files.length === 0 && view.folders.length === 0 ? (
        query.trim() !== '' ? (
          <EmptyState title="Nothing matches">No file name contains “{query}”.</EmptyState>
        ) : (
          <EmptyState title="An empty folder">Drop files or folders here to store them in {folder}.</EmptyState>
        )
      ) : (
        <table className="table files-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">Added</th>
              <th scope="col">Health</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {view.folders.map((f) => (
              <tr key={f.path} data-testid={`folder-${f.path}`}>
                <th scope="row" className="file-name">
                  <button type="button" className="link folder-link" onClick={() => setFolder(f.path)}>
                    <svg className="folder-icon" viewBox="0 0 16 16" aria-hidden="true">
                      <path d="M1.5 3A1.5 1.5 0 0 1 3 1.5h3.2l1.6 1.8H13A1.5 1.5 0 0 1 14.5 4.8v7.7A1.5 1.5 0 0 1 13 14H3a1.5 1.5 0 0 1-1.5-1.5z" />
                    </svg>
                    {f.name}/
                  </button>
                </th>
                <td className="num muted">{formatBytes(view.sizes.get(f.path)?.bytes ?? 0)}</td>
                <td />
                <td className="muted small">{plural(view.sizes.get(f.path)?.files ?? 0, 'file')}</td>
                <td className="row-actions">
                  <button type="button" className="small" onClick={() => setMoving(f.path)}>
                    Rename/Move
                  </button>
                  <button type="button" className="small danger" onClick={() => setDeletingFolder(f.path)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
            {view.files.map((file) => (
              <tr key={file.name} data-testid={`file-${file.name}`}>
                <th scope="row" className="file-name">
                  {query.trim() !== '' ? file.name : fileBaseName(file.name)}
                </th>
                <td className="num">{formatBytes(file.size)}</td>
                <td>{formatTime(file.created)}</td>
                <td>
                  <Badge tone={HEALTH_TONE[file.health]}>{healthLabel(file, status)}</Badge>{' '}
                  {file.guarded ? (
                    <>
                      <GuardedBadge status={status} />{' '}
                    </>
                  ) : null}
                  <span className="muted small">{survivesWords(file)}</span>
                </td>
                <td className="row-actions">
                  <button type="button" className="small" onClick={() => setPlacementOf(file)}>
                    Placement
                  </button>
                  <button type="button" className="small" onClick={() => void openFile(file)}>
                    Open
                  </button>
                  <button type="button" className="small" onClick={() => void exportFile(file)}>
                    Export
                  </button>
                  <button type="button" className="small" onClick={() => setMoving(file.name)}>
                    Rename/Move
                  </button>
                  <button type="button" className="small danger" onClick={() => setDeleting(file)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {dragging ? (
        <div className="drop-overlay" aria-hidden="true">
          <div>Drop to encrypt and store</div>
        </div>
      ) : null}
      {driveOpen ? <DrivePanel client={client} onClose={() => setDriveOpen(false)} /> : null}
      {placementOf ? (
        <Placement client={client} status={status} file={placementOf} onClose={() => setPlacementOf(null)} />
      ) : null}
      {moving !== null ? (
        <MoveDialog
          client={client}
          from={moving}
          onClose={() => setMoving(null)}
          onDone={(text) => {
            setMoving(null);
            setNotice({ text, warn: false });
            onChanged();
          }}
        />
      ) : null}
      {deletingFolder !== null ? (
        <DeleteDialog
          title="Delete folder"
          what={
            <>
              <strong>{deletingFolder}</strong> and everything in it (
              {plural((files ?? []).filter((x) => isInFolder(x.name, deletingFolder)).length, 'name')})
            </>
          }
          remove={() => client.api.removeFolder({ name: deletingFolder })}
          onClose={() => setDeletingFolder(null)}
          onDone={() => {
            setDeletingFolder(null);
            setNotice({ text: `Deleted ${deletingFolder}.`, warn: false });
            onChanged();
          }}
        />
      ) : null}
      {deleting ? (
        <DeleteDialog
          title="Delete file"
          what={
            <>
              <strong>{deleting.name}</strong> ({formatBytes(deleting.size)})
            </>
          }
          remove={() => client.api.removeFile({ name: deleting.name })}
          onClose={() => setDeleting(null)}
          onDone={() => {
            setDeleting(null);
            setNotice({ text: `Deleted ${deleting.name}.`, warn: false });
            onChanged();
          }}
        />
      ) : null}
    </div>
  );
}

function Transfers({ client, onChanged }: { client: Client; onChanged: () => void }) {
  const list = useSyncExternalStore(
    (listener) => client.onTransfers(listener),
    () => client.transfers(),
  );
  if (list.length === 0) return null;
  const finished = list.some((t) => t.state === 'done' || t.state === 'failed');
  return (
    <section className="transfers" aria-label="Transfers">
      <ul>
        {list.map((t) => (
          <TransferRow key={t.id} transfer={t} onReplace={() => void client.replace(t.id).finally(onChanged)} />
        ))}
      </ul>
      {finished ? (
        <button type="button" className="ghost small" onClick={() => client.clearFinished()}>
          Clear finished
        </button>
      ) : null}
    </section>
  );
}

function TransferRow({ transfer: t, onReplace }: { transfer: Transfer; onReplace: () => void }) {
  const verb = t.op === 'put' ? 'Storing' : 'Exporting';
  const size = Math.max(t.total, t.done);
  // A finished transfer fills its bar, an empty file's too (0 of 0 would draw it empty).
  const barMax = t.state === 'done' ? 1 : t.total;
  const barValue = t.state === 'done' ? 1 : t.done;
  const left = t.speed && t.total > t.done ? (t.total - t.done) / t.speed : null;
  let detail: string;
  switch (t.state) {
    case 'running':
      detail =
        t.approvals !== null
          ? `waiting for guardian approvals: ${t.approvals.done} of ${t.approvals.needed}`
          : t.total > 0 || t.files !== null
            ? [
                ...(t.files === null ? [] : [`${t.files.done} of ${plural(t.files.total, 'file')}`]),
                `${formatBytes(t.done)} of ${formatBytes(t.total)}`,
                ...(t.speed === null ? [] : [formatSpeed(t.speed)]),
                left === null ? 'estimating time left' : `${formatDuration(left)} left`,
              ].join(' · ')
            : 'working…';
      break;
    case 'finishing':
      detail =
        t.files === null
          ? 'sealing shards and committing on every location…'
          : `${plural(t.files.total, 'file')} stored · committing on every location…`;
      break;
    case 'done':
      detail = `done · ${t.files === null ? '' : `${plural(t.files.total, 'file')}, `}${formatBytes(size)}`;
      break;
    case 'failed':
      detail =
        t.code === 'exists'
          ? t.files === null
            ? `not stored: a file named ${t.name} is in the vault already`
            : `not stored: ${t.name} is in the vault already (Replace stores this folder in its place)`
          : t.code === 'approval'
            ? `not opened, ${APPROVAL_REFUSED}: ${t.error ?? ''}`
            : `failed: ${t.error ?? 'unknown error'}`;
      break;
  }
  return (
    <li className={`transfer transfer-${t.state}`} data-testid="transfer">
      <div className="transfer-line">
        <span>
          {verb} <strong>{t.name}</strong>
        </span>
        <span className="transfer-status">
          <span
            className={t.state === 'failed' ? 'small transfer-error' : 'muted small'}
            data-testid="transfer-detail"
            role={t.state === 'failed' ? 'alert' : undefined}
          >
            {detail}
          </span>
          {t.state === 'failed' && t.code === 'exists' && t.op === 'put' ? (
            <button type="button" className="small" onClick={onReplace}>
              Replace
            </button>
          ) : null}
        </span>
      </div>
      <ProgressBar value={barValue} max={barMax} label={`${verb} ${t.name}`} />
    </li>
  );
}

const STATE_WORD = { ok: 'OK', missing: 'Missing', corrupt: 'Corrupt', offline: 'Offline' } as const;

function Placement({
  client,
  status,
  file,
  onClose,
}: {
  client: Client;
  status: StatusReport;
  file: FileEntry;
  onClose: () => void;
}) {
  const [report, setReport] = useState<PlacementReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    client.api.placement({ name: file.name }).then(setReport, (e: unknown) => setError(errorText(e)));
  }, [client, file.name]);

  const columns = useMemo(() => {
    const names = status.locations.map((l) => l.name);
    for (const shard of report?.shards ?? []) {
      for (const l of shard.locations) if (!names.includes(l.name)) names.push(l.name);
    }
    return names;
  }, [status, report]);

  return (
    <Modal title={`Placement of ${file.name}`} onClose={onClose} wide>
      <div className="placement-summary">
        <Badge tone={HEALTH_TONE[file.health]}>{healthLabel(file, status)}</Badge>
        <p>
          This file <strong data-testid="survives">{survivesWords(file)}</strong>: any {status.vault.data} of its{' '}
          {status.vault.total} shards rebuild it, and each shard is useless alone.
        </p>
      </div>
      {error ? <ErrorNote>{error}</ErrorNote> : null}
      {report === null && !error ? <Spinner label="Asking every location…" /> : null}
      {report ? (
        <div className="grid-scroll">
          <table className="placement" aria-label="Shards by location">
            <thead>
              <tr>
                <th scope="col">Shard</th>
                {columns.map((name) => {
                  const domain = status.locations.find((l) => l.name === name)?.domain ?? null;
                  return (
                    <th scope="col" key={name}>
                      {name}
                      {domain === null ? null : (
                        <span className="domain-tag" data-testid="column-domain">
                          {domain}
                        </span>
                      )}
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {report.shards.map((shard) => (
                <tr key={shard.index}>
                  <th scope="row">#{shard.index + 1}</th>
                  {columns.map((name) => {
                    const cell = shard.locations.find((l) => l.name === name);
                    return (
                      <td key={name}>
                        {cell?.stagedFor !== undefined ? (
                          <span
                            className={`cell cell-${cell.state} cell-staged`}
                            data-state={cell.state}
                            data-staged-for={cell.stagedFor}
                            title={`Held here for ${cell.stagedFor}, which was away when the file was stored; it moves there once ${cell.stagedFor} is back`}
                          >
                            {cell.state === 'ok' ? `For ${cell.stagedFor}` : STATE_WORD[cell.state]}
                          </span>
                        ) : cell ? (
                          <span className={`cell cell-${cell.state}`} data-state={cell.state}>
                            {STATE_WORD[cell.state]}
                          </span>
                        ) : (
                          <span className="cell cell-none" aria-label="not placed here">
                            ·
                          </span>
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ul className="legend" aria-label="Legend">
        {(['ok', 'offline', 'missing', 'corrupt'] as const).map((state) => (
          <li key={state}>
            <span className={`cell cell-${state}`}>{STATE_WORD[state]}</span>
          </li>
        ))}
        {report?.shards.some((shard) => shard.locations.some((l) => l.stagedFor !== undefined)) ? (
          <li>
            <span className="cell cell-ok cell-staged">For …</span> held for a location that was away
          </li>
        ) : null}
      </ul>
    </Modal>
  );
}

type SortKey = 'name' | 'size' | 'added';

/** A folder's row: what is in it, at any depth. */
interface FolderSize {
  readonly bytes: number;
  readonly files: number;
  readonly newest: string;
}

function sortFiles(list: readonly FileEntry[], key: SortKey): FileEntry[] {
  const byName = (a: FileEntry, b: FileEntry): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return [...list].sort((a, b) =>
    key === 'size'
      ? b.size - a.size || byName(a, b)
      : key === 'added'
        ? a.created < b.created
          ? 1
          : a.created > b.created
            ? -1
            : byName(a, b)
        : byName(a, b),
  );
}

/** The folder holding `prefix` ('' at the top). */
function parentOf(prefix: string): string {
  const steps = prefix.split(FOLDER_SEPARATOR).filter((s) => s.length > 0);
  return folderPrefix(steps.slice(0, -1).join(FOLDER_SEPARATOR));
}

/** Where the Files page is: the vault, then each folder down to the one shown; each opens it. */
function Breadcrumbs({
  folder,
  onOpen,
  searching,
}: {
  folder: string;
  onOpen: (f: string) => void;
  searching: boolean;
}) {
  const steps = folder.split(FOLDER_SEPARATOR).filter((s) => s.length > 0);
  return (
    <nav className="breadcrumbs" aria-label="Folder">
      <ol>
        <li>
          <button
            type="button"
            className="link"
            onClick={() => onOpen('')}
            aria-current={folder === '' ? 'page' : undefined}
          >
            Vault
          </button>
        </li>
        {steps.map((step, i) => {
          const path = folderPrefix(steps.slice(0, i + 1).join(FOLDER_SEPARATOR));
          return (
            <li key={path}>
              <span aria-hidden="true"> / </span>
              <button
                type="button"
                className="link"
                onClick={() => onOpen(path)}
                aria-current={path === folder ? 'page' : undefined}
              >
                {step}
              </button>
            </li>
          );
        })}
        {searching ? <li className="muted small"> · searching every folder</li> : null}
      </ol>
    </nav>
  );
}

/**
 * The files of dropped folders (and files beside them), each under its path from the drop:
 * `photos/2026/a.jpg`; a folder with nothing in it as an empty file named `photos/empty/`.
 */
async function readDropped(entries: readonly FileSystemEntry[]): Promise<NamedFile[]> {
  const out: NamedFile[] = [];
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ file, name: `${path}${entry.name}` });
      return;
    }
    if (!entry.isDirectory) return;
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    const children: FileSystemEntry[] = [];
    // readEntries answers in batches until it answers none.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      children.push(...batch);
    }
    const inner = `${path}${entry.name}${FOLDER_SEPARATOR}`;
    if (children.length === 0) out.push({ file: new File([], entry.name), name: inner });
    for (const child of children) await walk(child, inner);
  };
  for (const e of entries) await walk(e, '');
  return out;
}

function MoveDialog({
  client,
  from,
  onClose,
  onDone,
}: {
  client: Client;
  from: string;
  onClose: () => void;
  onDone: (text: string) => void;
}) {
  const folder = from.endsWith(FOLDER_SEPARATOR);
  const [to, setTo] = useState(folder ? from.slice(0, -1) : from);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const move = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const moved = await client.api.moveName({ from, to: to.trim() });
      onDone(`Moved ${moved.from} to ${moved.to}${moved.files > 1 ? ` (${plural(moved.files, 'file')})` : ''}.`);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <Modal title={folder ? 'Rename or move folder' : 'Rename or move file'} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void move();
        }}
      >
        <label className="field">
          <span>New name (a path with / moves it; an existing folder takes it in)</span>
          <input aria-label="New name" value={to} onChange={(e) => setTo(e.target.value)} autoFocus />
        </label>
        <p className="muted small">Only the vault's records change: no shard is written again.</p>
        {error ? <ErrorNote>{error}</ErrorNote> : null}
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || to.trim() === ''}>
            Move
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Asks before deleting a file or a folder (`what`, in words), then runs `remove`. */
function DeleteDialog({
  title,
  what,
  remove,
  onClose,
  onDone,
}: {
  title: string;
  what: ReactNode;
  remove: () => Promise<void>;
  onClose: () => void;
  onDone: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await remove();
      onDone();
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <Modal title={title} onClose={onClose}>
      <p>Delete {what} from the vault? The shards are removed from every location. This cannot be undone.</p>
      {error ? <ErrorNote>{error}</ErrorNote> : null}
      <div className="actions">
        <button type="button" onClick={onClose} autoFocus>
          Keep it
        </button>
        <button type="button" className="danger" onClick={() => void run()} disabled={busy}>
          Delete
        </button>
      </div>
    </Modal>
  );
}
