// Main reads and writes only paths the user picked (src/main/picked-files.ts): putFile for a
// path from its open dialog or a dropped file, getFile to a path from its save dialog, each
// once. Electron can't run here: its ipcMain is a stand-in that records the handlers main
// registers, its dialogs are stand-ins that answer what a user would pick, and the engine is
// one that records what it was asked to do.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { FileEntry } from '../src/shared/api';
import { type Envelope, callNames, calls, mainCalls, preloadCalls } from '../src/shared/ipc';
import type { Handlers } from '../src/main/validated-ipc';

type Invoke = (event: unknown, payload: unknown) => Promise<Envelope<unknown>>;
const registered = vi.hoisted(() => new Map<string, Invoke>());
vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, handler: Invoke) => registered.set(channel, handler),
    removeHandler: (channel: string) => registered.delete(channel),
  },
}));

const { PICK_TTL_MS, PickedPaths, fileHandlers } = await import('../src/main/picked-files');
const { serveCalls } = await import('../src/main/validated-ipc');

const entry = (name: string): FileEntry => ({
  name,
  size: 1,
  sha256: 'ab'.repeat(32),
  created: '2026-01-01T00:00:00.000Z',
  health: 'healthy',
  survives: 1,
  awaiting: [],
  guarded: false,
  signIn: [],
});

let clock = 0;
let puts: string[];
let gets: string[];
let openAnswer: { canceled: boolean; filePaths: string[] };
let saveAnswer: { canceled: boolean; filePath: string };

/** Main's handlers for the file calls, behind the real validated IPC, with a trusted sender. */
function setUp(): (name: string, payload?: unknown) => Promise<Envelope<unknown>> {
  registered.clear();
  puts = [];
  gets = [];
  const inputs = new PickedPaths(PICK_TTL_MS, () => clock);
  const outputs = new PickedPaths(PICK_TTL_MS, () => clock);
  const files = fileHandlers({
    engine: {
      putFile: (req) => {
        puts.push(req.path);
        return Promise.resolve(entry(req.name ?? 'x'));
      },
      putTree: (req) => {
        puts.push(...req.files.flatMap((f) => (f.path === undefined ? [] : [f.path])));
        return Promise.resolve({
          name: req.name,
          files: req.files.length,
          folders: 0,
          bytes: 0,
          survives: 1,
          awaiting: [],
          signIn: [],
        });
      },
      getFile: (req) => {
        gets.push(req.output);
        return Promise.resolve();
      },
    },
    inputs,
    outputs,
    openDialog: () => Promise.resolve(openAnswer),
    saveDialog: () => Promise.resolve(saveAnswer),
    downloadsFolder: () => '/home/u/Downloads',
    run: (_name, work) => work(),
  });
  // Only the file calls matter here; any other call would fail the test loudly.
  const handlers = new Proxy(files, {
    get: (target, name: string) =>
      (target as Record<string, unknown>)[name] ?? (() => Promise.reject(new Error(`unexpected call ${name}`))),
  }) as unknown as Handlers;
  serveCalls(handlers, { trusted: () => true }, () => undefined);
  return (name, payload) => {
    const spec = (mainCalls as Record<string, { channel: string }>)[name]!;
    return registered.get(spec.channel)!({ sender: {} }, payload);
  };
}

const forbidden = { ok: false, error: { code: 'forbidden', message: expect.any(String) as string } };

beforeEach(() => {
  clock = 1_000_000;
  openAnswer = { canceled: true, filePaths: [] };
  saveAnswer = { canceled: true, filePath: '' };
});

describe('putFile takes only paths the user picked', () => {
  it('refuses a path nobody picked, before the engine sees it', async () => {
    const call = setUp();
    expect(await call('putFile', { path: '/home/u/.ssh/id_ed25519' })).toEqual(forbidden);
    expect(puts).toEqual([]);
  });

  it('stores a file picked in the open dialog once, and refuses it the second time', async () => {
    const call = setUp();
    openAnswer = { canceled: false, filePaths: ['/home/u/a.pdf', '/home/u/b.pdf'] };
    expect(await call('chooseFiles')).toEqual({ ok: true, value: ['/home/u/a.pdf', '/home/u/b.pdf'] });
    expect(await call('putFile', { path: '/home/u/a.pdf' })).toMatchObject({ ok: true, value: { name: 'x' } });
    expect(await call('putFile', { path: '/home/u/a.pdf' })).toEqual(forbidden);
    expect(await call('putFile', { path: '/home/u/b.pdf', name: 'b' })).toMatchObject({ ok: true });
    expect(puts).toEqual(['/home/u/a.pdf', '/home/u/b.pdf']);
  });

  it('a cancelled dialog allows nothing', async () => {
    const call = setUp();
    expect(await call('chooseFiles')).toEqual({ ok: true, value: [] });
    expect(await call('putFile', { path: '/home/u/a.pdf' })).toEqual(forbidden);
    expect(puts).toEqual([]);
  });

  it('a dropped file offered by the preload is good for one putFile', async () => {
    const call = setUp();
    expect(await call('offerFile', { path: '/home/u/dropped.png' })).toEqual({
      ok: true,
      value: '/home/u/dropped.png',
    });
    expect(await call('putFile', { path: '/home/u/dropped.png' })).toMatchObject({ ok: true });
    expect(await call('putFile', { path: '/home/u/dropped.png' })).toEqual(forbidden);
    expect(puts).toEqual(['/home/u/dropped.png']);
  });

  it('putTree stores a dropped folder only when every one of its paths was offered', async () => {
    const call = setUp();
    await call('offerFile', { path: '/home/u/taxes/a.pdf' });
    await call('offerFile', { path: '/home/u/taxes/b.pdf' });
    const tree = (paths: string[]) => ({
      name: 'taxes',
      files: [...paths.map((path) => ({ name: path.split('/').pop()!, path })), { name: 'empty/' }],
    });
    // One path never offered: refused before the engine sees any of it.
    expect(await call('putTree', tree(['/home/u/taxes/a.pdf', '/home/u/.ssh/id_ed25519']))).toEqual(forbidden);
    expect(puts).toEqual([]);
    // The refused call used up what it took; b is still good once.
    await call('offerFile', { path: '/home/u/taxes/a.pdf' });
    expect(await call('putTree', tree(['/home/u/taxes/a.pdf', '/home/u/taxes/b.pdf']))).toMatchObject({
      ok: true,
      value: { name: 'taxes', files: 3 },
    });
    expect(puts).toEqual(['/home/u/taxes/a.pdf', '/home/u/taxes/b.pdf']);
    expect(await call('putTree', tree(['/home/u/taxes/b.pdf']))).toEqual(forbidden);
  });

  it('an unused pick expires; using one of a batch keeps the rest of it alive', async () => {
    const call = setUp();
    openAnswer = { canceled: false, filePaths: ['/a', '/b', '/c'] };
    await call('chooseFiles');
    clock += PICK_TTL_MS - 1;
    expect(await call('putFile', { path: '/a' })).toMatchObject({ ok: true }); // moves the deadline on
    clock += PICK_TTL_MS - 1;
    expect(await call('putFile', { path: '/b' })).toMatchObject({ ok: true });
    clock += PICK_TTL_MS;
    expect(await call('putFile', { path: '/c' })).toEqual(forbidden);
    expect(puts).toEqual(['/a', '/b']);
  });

  it('offerFile is served to the preload but never exposed to the page, nor to the web bridge', () => {
    expect(Object.keys(preloadCalls)).toEqual(['offerFile']);
    expect(callNames).not.toContain('offerFile');
    expect(Object.keys(calls)).not.toContain('offerFile');
    expect(calls.chooseFiles.desktopOnly).toBe(true);
    setUp();
    expect(registered.has(preloadCalls.offerFile.channel)).toBe(true);
  });
});

describe('getFile writes only to a path picked in the save dialog', () => {
  it('once, and not to a path picked for reading', async () => {
    const call = setUp();
    expect(await call('getFile', { name: 'f', output: '/home/u/.bashrc' })).toEqual(forbidden);
    saveAnswer = { canceled: false, filePath: '/home/u/Downloads/f' };
    expect(await call('chooseSavePath', { name: 'f' })).toEqual({ ok: true, value: '/home/u/Downloads/f' });
    expect(await call('getFile', { name: 'f', output: '/home/u/Downloads/f' })).toEqual({
      ok: true,
      value: undefined,
    });
    expect(await call('getFile', { name: 'f', output: '/home/u/Downloads/f' })).toEqual(forbidden);
    // An input pick is no output, and an output pick is no input.
    openAnswer = { canceled: false, filePaths: ['/home/u/in.txt'] };
    await call('chooseFiles');
    expect(await call('getFile', { name: 'f', output: '/home/u/in.txt' })).toEqual(forbidden);
    saveAnswer = { canceled: false, filePath: '/home/u/out.txt' };
    await call('chooseSavePath', { name: 'f' });
    expect(await call('putFile', { path: '/home/u/out.txt' })).toEqual(forbidden);
    expect(gets).toEqual(['/home/u/Downloads/f']);
    expect(puts).toEqual([]);
  });
});

describe('PickedPaths', () => {
  it('counts a path picked twice as two uses, and forgets everything on clear', () => {
    const picked = new PickedPaths(1000, () => clock);
    picked.add(['/x', '/x']);
    expect(picked.take('/x')).not.toBeNull();
    expect(picked.take('/x')).not.toBeNull();
    expect(picked.take('/x')).toBeNull();
    picked.add(['/y']);
    picked.clear();
    expect(picked.size).toBe(0);
    expect(picked.take('/y')).toBeNull();
  });

  it('done() at the end of long work moves the batch deadline on', () => {
    const picked = new PickedPaths(1000, () => clock);
    picked.add(['/big', '/next']);
    const pick = picked.take('/big')!;
    clock += 5000; // the put of /big took longer than the deadline
    pick.done();
    clock += 999;
    expect(picked.take('/next')).not.toBeNull();
  });
});
