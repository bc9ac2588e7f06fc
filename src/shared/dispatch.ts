/**
 * The bridges serve the engine's calls from the call table, not from a list kept by hand:
 * every name in `engineCallNames` becomes a handler that runs the ShardvaultApi method of
 * that name. A front end names the calls it serves itself (`omit`), and the type then makes
 * it supply each of them: a call guarded in the desktop app (putFile, getFile only for
 * paths the user picked) cannot fall through to the engine unguarded by being forgotten.
 */
import type { ShardvaultApi } from './api';
import { type CallRequest, type CallResponse, type EngineCallName, engineCallNames } from './ipc';

export type EngineHandler<M extends EngineCallName> = (request: CallRequest<M>) => Promise<CallResponse<M>>;
export type EngineHandlers<Omitted extends EngineCallName> = {
  readonly [M in Exclude<EngineCallName, Omitted>]: EngineHandler<M>;
};

/** Handlers for every engine call but `omit`; `around` wraps each run (the idle lock). */
export function engineHandlers<Omitted extends EngineCallName = never>(
  api: ShardvaultApi,
  around: (name: EngineCallName, work: () => Promise<unknown>) => Promise<unknown>,
  omit: readonly Omitted[] = [],
): EngineHandlers<Omitted> {
  const skipped: ReadonlySet<EngineCallName> = new Set(omit);
  const handlers: Record<string, (request: unknown) => Promise<unknown>> = {};
  for (const name of engineCallNames) {
    if (skipped.has(name)) continue;
    handlers[name] = (request) =>
      around(name, () =>
        (api[name] as (this: ShardvaultApi, request?: unknown) => Promise<unknown>).call(api, request),
      );
  }
  return handlers as unknown as EngineHandlers<Omitted>;
}
